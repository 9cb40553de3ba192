_base_ = [
    '../_base_/models/spg_resnet50.py', '../_base_/datasets/imagenet_bs32_224.py',
    '../_base_/schedules/sgd_step3_10e.py', '../_base_/default_runtime.py'
]
# SPG: thresholds (0.7, 0.01) (0.5, 0.05) (0.7, 0.1) (wsolevaluation config.py). Data,
# schedule, evaluation, map size, lr and wd as configs/cam/resnet50_imagenet.py
# (checked by tests/test_configs_acol_spg.py); the lr is a starting point.
# lr groups as wsolevaluation main.py: its ResNet patterns match layer4 only
# here, so the SPG head and branches stay at the base lr.
model = dict(head=dict(num_classes=1000))
optim_wrapper = dict(optimizer=dict(lr=3.108411e-5, weight_decay=1e-4),
                     paramwise_cfg=dict(classifier_keys=('backbone.layer4.', )))
