# CUB-200-2011 in the wsolevaluation layout (data/metadata/CUB/{train,val,test},
# images under data/CUB/<class>/<file>.jpg), TS-CAM pipelines (spec §4.1):
# train Resize 256x256 -> RandomCrop 224 -> HFlip; test plain Resize 224x224 (no crop).
dataset_type = 'WSOLDataset'
data_root = 'data'
num_classes = 200

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
    batch_size=128,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=True),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='metadata/CUB/train',
                 data_prefix=dict(img_path='CUB'), num_classes=num_classes,
                 pipeline=train_pipeline),
)
# TS-CAM evaluated on the test set every epoch; here `val` (wsolevaluation CUB train-fullsup)
# selects the checkpoint and `test` is reported.
val_dataloader = dict(
    batch_size=128,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='metadata/CUB/val',
                 data_prefix=dict(img_path='CUB'), num_classes=num_classes,
                 pipeline=test_pipeline, test_mode=True),
)
test_dataloader = dict(
    batch_size=128,
    num_workers=8,
    persistent_workers=True,
    sampler=dict(type='DefaultSampler', shuffle=False),
    dataset=dict(type=dataset_type, data_root=data_root, ann_file='metadata/CUB/test',
                 data_prefix=dict(img_path='CUB'), num_classes=num_classes,
                 pipeline=test_pipeline, test_mode=True),
)

# Official TS-CAM protocol (fixed CAM threshold 0.1) plus the wsolevaluation metric.
val_evaluator = [
    dict(type='ClsAccuracyMetric'),
    dict(type='FixedThresholdLocMetric', cam_thr=0.1),
    dict(type='MaxBoxAccV2Metric'),
]
test_evaluator = val_evaluator
