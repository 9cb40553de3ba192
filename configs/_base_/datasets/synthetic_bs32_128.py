# SyntheticWSOL (generated on first use under data/synthetic): 4 classes, 128 px.
dataset_type = 'SyntheticWSOLDataset'
data_root = 'data/synthetic'
generator = dict(num_classes=4, image_size=128)

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadWSOLAnnotations'),
    dict(type='RandomResizedCrop', scale=112, crop_ratio_range=(0.35, 1.0)),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackWSOLInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadWSOLAnnotations'),
    dict(type='Resize', scale=112),
    dict(type='PackWSOLInputs'),
]

train_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, split='train', generator=generator,
                 pipeline=train_pipeline),
)
# wsolevaluation protocol: `val` (train-fullsup) selects the checkpoint, `test` is reported.
val_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='val', generator=generator,
                 pipeline=test_pipeline, test_mode=True),
)
test_dataloader = dict(
    batch_size=32,
    num_workers=2,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, split='test', generator=generator,
                 pipeline=test_pipeline, test_mode=True),
)

val_evaluator = [
    dict(type='ClsAccuracyMetric'),
    dict(type='MaxBoxAccV2Metric', size_bins=True),
    dict(type='FixedThresholdLocMetric', cam_thr=0.2),
]
test_evaluator = val_evaluator
