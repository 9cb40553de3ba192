# CUB for SCM (spec §2.9, §4.1): TS-CAM training aug (resize 256x256 -> random crop 224 ->
# HFlip), batch 16 (the stored SCM DeiT-S yaml); test = plain resize 224x224. Evaluation: the
# official oracle-threshold sweep plus MaxBoxAccV2, on `val` (selects) and `test`.
_base_ = ['./wsolevaluation_224.py']

train_dataloader = dict(batch_size=16, dataset=dict(type='CUBDataset'))
val_dataloader = dict(batch_size=64, dataset=dict(type='CUBDataset'))
test_dataloader = dict(batch_size=64, dataset=dict(type='CUBDataset'))

val_evaluator = [
    dict(type='ClsAccuracyMetric'),
    dict(type='ThresholdSweepLocMetric'),
    dict(type='MaxBoxAccV2Metric'),
]
test_evaluator = val_evaluator
