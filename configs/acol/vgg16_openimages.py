_base_ = [
    '../_base_/models/acol_vgg16.py', '../_base_/datasets/openimages_bs32_224.py',
    '../_base_/schedules/sgd_step3_10e.py', '../_base_/default_runtime.py'
]
# ACoL: threshold 0.7 (wsolevaluation config.py). Data,
# schedule, evaluation, map size, lr and wd as configs/cam/vgg16_openimages.py
# (checked by tests/test_configs_acol_spg.py); the lr is a starting point.
model = dict(head=dict(num_classes=100))
optim_wrapper = dict(optimizer=dict(lr=0.00227913316, weight_decay=5e-4))
default_hooks = dict(checkpoint=dict(save_best='pxap/pxap'))
