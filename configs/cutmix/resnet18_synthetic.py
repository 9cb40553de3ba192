_base_ = ['../cam/resnet18_synthetic.py']
# CutMix on SyntheticWSOL (4 classes): wsolevaluation's default beta 1.0, prob 1.0.
model = dict(data_preprocessor=dict(
    batch_augments=[dict(type='CutMix', num_classes=4, beta=1.0, prob=1.0)]))
custom_hooks = [dict(type='ClassNumCheckHook'), dict(type='MethodSeedHook')]
