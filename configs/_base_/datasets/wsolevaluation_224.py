# wsolevaluation protocol (data_loaders.py): train = resize 256x256 -> random 224 crop ->
# horizontal flip; val/test = resize 224x224 (no crop). Normalisation is in the model's
# WSOLDataPreprocessor. Dataset bases only add the dataset type, split and evaluators.
train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadWSOLAnnotations'),
    dict(type='Resize', scale=(256, 256)),
    dict(type='RandomCrop', crop_size=224),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackWSOLInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadWSOLAnnotations'),
    dict(type='Resize', scale=(224, 224)),
    dict(type='PackWSOLInputs'),
]

train_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(data_root='data', split='train', pipeline=train_pipeline),
)
# `val` = train-fullsup (CUBV2 / ImageNetV2 / OpenImages val) selects the checkpoint;
# `test` is reported.
val_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(data_root='data', split='val', pipeline=test_pipeline, test_mode=True),
)
test_dataloader = dict(
    batch_size=32,
    num_workers=4,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(data_root='data', split='test', pipeline=test_pipeline, test_mode=True),
)
