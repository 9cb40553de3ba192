_base_ = [
    '../_base_/models/cam_vgg16.py', '../_base_/datasets/imagenet_bs32_224.py',
    '../_base_/schedules/sgd_step3_10e.py', '../_base_/default_runtime.py'
]
# scripts/vgg_imagenet_ours.sh: batch 32; 10 epochs, x0.1 every 3 (CAM base).
# lr groups as the official code: all but the ResNet stem BN at 10 x lr.
# ImageNet proxy training set (--proxy_training_set).
# CropConsistency wraps the CAMLocalizer that the other `model` keys configure.
model = dict(
    type='CropConsistency', localizer='CAMLocalizer',
    backbone=dict(large_feature_map=False),
    head=dict(num_classes=1000),
    crop_threshold=0.75, crop_ratio=0.7,
    loss_pos=1.0, loss_neg=0.0, loss_ratio=0.4)
train_dataloader = dict(dataset=dict(proxy=True))
optim_wrapper = dict(optimizer=dict(lr=6.680514664e-5, weight_decay=5e-4),
                     paramwise_cfg=dict(rule='small_object_matters'))
custom_hooks = [dict(type='ClassNumCheckHook'),
                dict(type='CropConsistencyHook', start_epoch=0)]
