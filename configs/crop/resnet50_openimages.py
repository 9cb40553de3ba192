_base_ = ['../cam/resnet50_openimages.py']
# scripts/resnet_openimages_ours.sh: batch 32; 10 epochs, x0.1 every 3 (CAM base).
# lr groups as the official code: all but the ResNet stem BN at 10 x lr.
model = dict(
    backbone=dict(large_feature_map=False),
    consistency=dict(type='CropConsistency', crop_threshold=0.65, crop_ratio=0.0,
                     loss_pos=0.7, loss_neg=0.3, loss_ratio=0.3))
optim_wrapper = dict(optimizer=dict(lr=4.009288426e-4, weight_decay=1e-4),
                     paramwise_cfg=dict(rule='small_object_matters'))
custom_hooks = [dict(type='ClassNumCheckHook'),
                dict(type='CropConsistencyHook', start_epoch=0)]
