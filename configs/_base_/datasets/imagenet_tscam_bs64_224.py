# ILSVRC-2012 in the wsolevaluation layout (data/metadata/ILSVRC/{train,val,test}; `val` =
# ImageNetV2 boxes, `test` = the 50k ILSVRC val images), TS-CAM pipelines (spec §4.2).
# 4 GPUs x 64 = the released batch of 256.
dataset_type = 'WSOLDataset'
data_root = 'data'
num_classes = 1000

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadWSOLAnnotations'),
    dict(type='Resize', scale=256),
    dict(type='RandomCrop', crop_size=224),
    dict(type='RandomFlip', prob=0.5),
    dict(type='PackWSOLInputs'),
]
test_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadWSOLAnnotations'),
    dict(type='Resize', scale=224),
    dict(type='PackWSOLInputs'),
]

train_dataloader = dict(
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='metadata/ILSVRC/train',
                 data_prefix=dict(img_path='ILSVRC'), num_classes=num_classes,
                 pipeline=train_pipeline),
)
val_dataloader = dict(
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='metadata/ILSVRC/val',
                 data_prefix=dict(img_path='ILSVRC'), num_classes=num_classes,
                 pipeline=test_pipeline, test_mode=True),
)
test_dataloader = dict(
    batch_size=64,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='metadata/ILSVRC/test',
                 data_prefix=dict(img_path='ILSVRC'), num_classes=num_classes,
                 pipeline=test_pipeline, test_mode=True),
)

# Official TS-CAM protocol (fixed CAM threshold 0.12) plus the wsolevaluation metric.
val_evaluator = [
    dict(type='ClsAccuracyMetric'),
    dict(type='FixedThresholdLocMetric', cam_thr=0.12),
    dict(type='MaxBoxAccV2Metric'),
]
test_evaluator = val_evaluator
