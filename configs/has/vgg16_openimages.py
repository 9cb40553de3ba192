_base_ = ['../cam/vgg16_openimages.py']
# Hide-and-Seek on the normalised training batch: 4x4-pixel patches, each hidden with
# probability 0.5 (wsolevaluation config.py defaults; its tuned values are not public).
model = dict(data_preprocessor=dict(
    batch_augments=[dict(type='HideAndSeek', grid_size=4, drop_rate=0.5)]))
custom_hooks = [dict(type='ClassNumCheckHook'), dict(type='MethodSeedHook')]
