_base_ = ['../cam/resnet18_synthetic.py']
# HaS on SyntheticWSOL (112 px crops): wsolevaluation's default 4 px patches, rate 0.5.
model = dict(data_preprocessor=dict(
    batch_augments=[dict(type='HideAndSeek', grid_size=4, drop_rate=0.5)]))
custom_hooks = [dict(type='ClassNumCheckHook'), dict(type='MethodSeedHook')]
