_base_ = ['./wsolevaluation_224.py']
# CUB-200-2011 (train 5,994) / CUBV2 (val 1,000) / CUB test (5,794); layout in data/README.md.
train_dataloader = dict(dataset=dict(type='CUBDataset'))
val_dataloader = dict(dataset=dict(type='CUBDataset'))
test_dataloader = dict(dataset=dict(type='CUBDataset'))

val_evaluator = [
    dict(type='ClsAccuracyMetric'),
    dict(type='MaxBoxAccV2Metric', size_bins=True),
    dict(type='MaxBoxAccMetric'),
]
test_evaluator = val_evaluator
