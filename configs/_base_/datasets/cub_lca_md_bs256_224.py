# CUB for LCA-MD (spec §4.1): timm DeiT training aug = RandomResizedCrop 224 (scale 0.08-1,
# bicubic) -> HFlip -> RandAugment m9-mstd0.5-inc1 -> RandomErasing p 0.25 (pixel, 1 box);
# test = plain resize 224x224. Batch 256 on one GPU (the released DataParallel batch; the
# CCAM losses rank samples inside it). Evaluation: the official oracle-threshold sweep
# (SCM/LCA-MD protocol) plus wsolevaluation's MaxBoxAccV2, on `val` (selects) and `test`.
_base_ = ['./cub_tscam_bs128_224.py']

train_pipeline = [
    dict(type='LoadImageFromFile'),
    dict(type='LoadWSOLAnnotations'),
    dict(type='RandomResizedCrop', scale=224, crop_ratio_range=(0.08, 1.0),
         interpolation='bicubic'),
    dict(type='RandomFlip', prob=0.5),
    dict(type='RandAugment', config_str='rand-m9-mstd0.5-inc1', img_size=224),
    dict(type='RandomErasing', prob=0.25, mode='pixel', max_count=1),
    dict(type='PackWSOLInputs'),
]
train_dataloader = dict(batch_size=256, dataset=dict(pipeline=train_pipeline))
val_dataloader = dict(batch_size=256)
test_dataloader = dict(batch_size=256)

val_evaluator = [
    dict(type='ClsAccuracyMetric'),
    dict(type='ThresholdSweepLocMetric'),
    dict(type='MaxBoxAccV2Metric'),
]
test_evaluator = val_evaluator
