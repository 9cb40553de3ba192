_base_ = ['../cam/inception_v3_openimages.py']
# CutMix on the training batch, loss lam * CE(y_a) + (1 - lam) * CE(y_b) through soft targets
# (beta 1.0, prob 1.0: wsolevaluation config.py defaults; its tuned values are not public).
model = dict(data_preprocessor=dict(
    batch_augments=[dict(type='CutMix', num_classes=100, beta=1.0, prob=1.0)]))
custom_hooks = [dict(type='ClassNumCheckHook'), dict(type='MethodSeedHook')]
