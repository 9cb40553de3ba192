_base_ = ['./wsolevaluation_224.py']
# ILSVRC train (1.28M) / ImageNetV2 threshold-0.7 (val 10,000) / ILSVRC2012 val (test 50,000).
train_dataloader = dict(dataset=dict(type='ImageNetDataset', proxy=False))
val_dataloader = dict(dataset=dict(type='ImageNetDataset'))
test_dataloader = dict(dataset=dict(type='ImageNetDataset'))

val_evaluator = [
    dict(type='ClsAccuracyMetric'),
    dict(type='MaxBoxAccV2Metric', size_bins=True),
    dict(type='MaxBoxAccMetric'),
]
test_evaluator = val_evaluator
