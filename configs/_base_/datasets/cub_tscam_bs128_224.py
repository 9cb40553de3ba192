# CUB-200-2011 for TS-CAM (spec §4.1): its train/test pipelines are wsolevaluation's (resize
# 256x256 -> random crop 224 -> flip; test resize 224x224), so they come from the shared base.
# TS-CAM evaluated on the test set every epoch; here `val` (CUBV2) selects and `test` is reported.
_base_ = ['./wsolevaluation_224.py']

train_dataloader = dict(batch_size=128, num_workers=8, dataset=dict(type='CUBDataset'))
val_dataloader = dict(batch_size=128, num_workers=8, dataset=dict(type='CUBDataset'))
test_dataloader = dict(batch_size=128, num_workers=8, dataset=dict(type='CUBDataset'))

# Official TS-CAM protocol (fixed CAM threshold 0.1) plus the wsolevaluation metric.
val_evaluator = [
    dict(type='ClsAccuracyMetric'),
    dict(type='FixedThresholdLocMetric', cam_thr=0.1),
    dict(type='MaxBoxAccV2Metric'),
]
test_evaluator = val_evaluator
