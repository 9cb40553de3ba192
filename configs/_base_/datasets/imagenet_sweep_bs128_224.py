# ILSVRC for SCM / LCA-MD (spec §4.2, unchanged from TS-CAM): train resize 256x256 -> random
# crop 224 -> HFlip; test plain resize 224x224. 4 GPUs x 128 = the released batch of 512.
# Evaluation: the official oracle-threshold sweep plus MaxBoxAccV2 (`val` = ImageNetV2 boxes
# selects, `test` = the 50k ILSVRC val images is reported).
_base_ = ['./wsolevaluation_224.py']

train_dataloader = dict(batch_size=128, dataset=dict(type='ImageNetDataset'))
val_dataloader = dict(batch_size=128, dataset=dict(type='ImageNetDataset'))
test_dataloader = dict(batch_size=128, dataset=dict(type='ImageNetDataset'))

val_evaluator = [
    dict(type='ClsAccuracyMetric'),
    dict(type='ThresholdSweepLocMetric'),
    dict(type='MaxBoxAccV2Metric'),
]
test_evaluator = val_evaluator
