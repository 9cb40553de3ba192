_base_ = [
    '../_base_/models/spg_vgg16.py', '../_base_/datasets/cub_bs32_224.py',
    '../_base_/schedules/sgd_step15_50e.py', '../_base_/default_runtime.py'
]
# SPG: thresholds (0.7, 0.01) (0.5, 0.05) (0.7, 0.1) (wsolevaluation config.py). Data,
# schedule, evaluation, map size, lr and wd as configs/cam/vgg16_cub.py
# (checked by tests/test_configs_acol_spg.py); the lr is a starting point.
optim_wrapper = dict(optimizer=dict(lr=1.268269e-5, weight_decay=5e-4))
