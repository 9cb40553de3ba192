_base_ = [
    '../_base_/models/acol_inception_v3.py', '../_base_/datasets/imagenet_bs32_224.py',
    '../_base_/schedules/sgd_step3_10e.py', '../_base_/default_runtime.py'
]
# ACoL: threshold 0.7 (wsolevaluation config.py). Data,
# schedule, evaluation, map size, lr and wd as configs/cam/inception_v3_imagenet.py
# (checked by tests/test_configs_acol_spg.py); the lr is a starting point.
model = dict(head=dict(num_classes=1000))
optim_wrapper = dict(optimizer=dict(lr=1.260374694e-4))
