# CUB for SCM (spec §2.9, §4.1): TS-CAM training aug (resize 256x256 -> random crop 224 ->
# HFlip), batch 16 (the stored SCM DeiT-S yaml); test = plain resize 224x224. Evaluation: the
# official oracle-threshold sweep plus MaxBoxAccV2, on `val` (selects) and `test`.
_base_ = ['./cub_tscam_bs128_224.py']

train_dataloader = dict(batch_size=16)
val_dataloader = dict(batch_size=64)
test_dataloader = dict(batch_size=64)

val_evaluator = [
    dict(type='ClsAccuracyMetric'),
    dict(type='ThresholdSweepLocMetric'),
    dict(type='MaxBoxAccV2Metric'),
]
test_evaluator = val_evaluator
