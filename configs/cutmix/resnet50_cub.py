_base_ = ['../cam/resnet50_cub.py']
# CutMix on the training batch, loss lam * CE(y_a) + (1 - lam) * CE(y_b) through soft targets
# (beta 1.0, prob 1.0: wsolevaluation config.py defaults; its tuned values are not public).
model = dict(data_preprocessor=dict(
    batch_augments=[dict(type='CutMix', num_classes=200, beta=1.0, prob=1.0)]))
custom_hooks = [dict(type='ClassNumCheckHook'), dict(type='MethodSeedHook')]
