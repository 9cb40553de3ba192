_base_ = [
    '../_base_/models/cam_resnet50.py', '../_base_/datasets/openimages_bs32_224.py',
    '../_base_/schedules/sgd_step3_10e.py', '../_base_/default_runtime.py'
]
# scripts/resnet_openimages_ours.sh: batch 32; 10 epochs, x0.1 every 3 (CAM base).
# lr groups as the official code: all but the ResNet stem BN at 10 x lr.
# CropConsistency wraps the CAMLocalizer that the other `model` keys configure.
model = dict(
    type='CropConsistency', localizer='CAMLocalizer',
    backbone=dict(large_feature_map=False),
    head=dict(num_classes=100),
    crop_threshold=0.65, crop_ratio=0.0,
    loss_pos=0.7, loss_neg=0.3, loss_ratio=0.3)
optim_wrapper = dict(optimizer=dict(lr=4.009288426e-4, weight_decay=1e-4),
                     paramwise_cfg=dict(rule='small_object_matters'))
custom_hooks = [dict(type='ClassNumCheckHook'),
                dict(type='CropConsistencyHook', start_epoch=0)]
default_hooks = dict(checkpoint=dict(save_best='pxap/pxap'))
