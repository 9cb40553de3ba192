_base_ = [
    '../_base_/models/acol_resnet50.py', '../_base_/datasets/openimages_bs32_224.py',
    '../_base_/schedules/sgd_step3_10e.py', '../_base_/default_runtime.py'
]
# ACoL: threshold 0.7 (wsolevaluation config.py). Data,
# schedule, evaluation, map size, lr and wd as configs/cam/resnet50_openimages.py
# (checked by tests/test_configs_acol_spg.py); the lr is a starting point.
# lr groups as wsolevaluation main.py: its ResNet patterns match layer4 only
# here, so the ACoL branches stay at the base lr.
model = dict(head=dict(num_classes=100), backbone=dict(large_feature_map=False))
optim_wrapper = dict(optimizer=dict(lr=4.009288426e-4, weight_decay=1e-4),
                     paramwise_cfg=dict(classifier_keys=('backbone.layer4.', )))
default_hooks = dict(checkpoint=dict(save_best='pxap/pxap'))
