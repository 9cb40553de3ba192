_base_ = ['../cam/inception_v3_openimages.py']
# scripts/inception_openimages_ours.sh: batch 32; 10 epochs, x0.1 every 3 (CAM base).
# lr groups as the official code: all but the ResNet stem BN at 10 x lr.
model = dict(
    backbone=dict(large_feature_map=True),
    consistency=dict(type='CropConsistency', crop_threshold=0.15, crop_ratio=0.1,
                     loss_pos=0.2, loss_neg=1.3, loss_ratio=0.9))
optim_wrapper = dict(optimizer=dict(lr=1.48741774e-4, weight_decay=5e-4),
                     paramwise_cfg=dict(rule='small_object_matters'))
custom_hooks = [dict(type='ClassNumCheckHook'),
                dict(type='CropConsistencyHook', start_epoch=0)]
