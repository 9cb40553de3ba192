# ILSVRC-2012 for TS-CAM (spec §4.2): wsolevaluation pipelines from the shared base; `val` =
# ImageNetV2 boxes selects, `test` = the 50k ILSVRC val images is reported.
# 4 GPUs x 64 = the released batch of 256.
_base_ = ['./wsolevaluation_224.py']

train_dataloader = dict(batch_size=64, num_workers=8, dataset=dict(type='ImageNetDataset'))
val_dataloader = dict(batch_size=64, num_workers=8, dataset=dict(type='ImageNetDataset'))
test_dataloader = dict(batch_size=64, num_workers=8, dataset=dict(type='ImageNetDataset'))

# Official TS-CAM protocol (fixed CAM threshold 0.12) plus the wsolevaluation metric.
val_evaluator = [
    dict(type='ClsAccuracyMetric'),
    dict(type='FixedThresholdLocMetric', cam_thr=0.12),
    dict(type='MaxBoxAccV2Metric'),
]
test_evaluator = val_evaluator
