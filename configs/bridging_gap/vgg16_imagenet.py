_base_ = ['../cam/vgg16_imagenet.py']
# ImageNet: target-class norm reference; loss weights of the CUB VGG config, conv6 + fc at
# 5x lr; warm-up 3 of 10 epochs (our choice, no released ImageNet config). Stage 1 of
# configs/crop/vgg16_imagenet_brid.py (loads epoch_10).
model = dict(
    backbone=dict(type='VGG16BridCAM', large_feature_map=False),
    methods=[dict(type='BridgingGap', drop_threshold=0.8, drop_prob=0.5, drop_weight=3.0,
                  sim_weight=0.5, norm_weight=0.15,
                  alignment=dict(type='FeatureAlignmentLoss', fg_threshold=0.6,
                                 bg_threshold=0.1, norm_reference='target'))])
optim_wrapper = dict(paramwise_cfg=dict(classifier_lr_mult=5))
custom_hooks = [dict(type='ClassNumCheckHook'),
                dict(type='BridgingGapWarmupHook', warmup_epochs=3)]
work_dir = 'work_dirs/bridging_gap/vgg16_imagenet'
