# CUB for LCA-MD, read from the native CUB_200_2011 archive as the release does
# (`data_root` = the folder holding images/, images.txt, train_test_split.txt, ...; spec §4.1).
# Train aug = timm's DeiT recipe: RandomResizedCrop 224 (scale 0.08-1, bicubic) -> HFlip ->
# RandAugment m9-mstd0.5-inc1 (posterize to 0 bits = black, as with the release's Pillow;
# docs/environment.md) -> RandomErasing p 0.25 (pixel, 1 box); test = plain resize
# 224x224. Batch 256 on one GPU (the released DataParallel batch; the CCAM losses rank
# samples inside it). The archive has no validation split and the release evaluates on test:
# `val` reads `test` too (`notes`); `*_cub_wsoleval.py` selects on CUBV2 instead.
_base_ = ['./wsolevaluation_224.py']
data_root = 'data/CUB_200_2011'
notes = 'same-split: native CUB_200_2011 has only train/test; LCA-MD evaluates on test'

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
train_dataloader = dict(
    batch_size=256, num_workers=8,
    dataset=dict(type='CUBDataset', native=True, data_root=data_root, pipeline=train_pipeline))
val_dataloader = dict(
    batch_size=256, num_workers=8,
    dataset=dict(type='CUBDataset', native=True, data_root=data_root, split='test'))
test_dataloader = dict(
    batch_size=256, num_workers=8,
    dataset=dict(type='CUBDataset', native=True, data_root=data_root))

# Official SCM/LCA-MD oracle-threshold sweep plus wsolevaluation's MaxBoxAccV2.
val_evaluator = [
    dict(type='ClsAccuracyMetric'),
    dict(type='ThresholdSweepLocMetric'),
    dict(type='MaxBoxAccV2Metric'),
]
test_evaluator = val_evaluator
