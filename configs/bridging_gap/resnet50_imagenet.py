_base_ = ['../cam/resnet50_imagenet.py']
# ImageNet: target-class norm reference (trainer._get_loss_alignment, ILSVRC branch); the
# released repo has no ImageNet config, so the loss weights are the CUB ResNet ones and the
# warm-up is 3 of the 10 epochs (our choice, ~ 20/70). Stage 1 of
# configs/crop/resnet50_imagenet_brid.py (loads epoch_10).
model = dict(
    backbone=dict(type='ResNetBridCAM'),
    methods=[dict(type='BridgingGap', drop_threshold=0.8, drop_prob=0.25, drop_weight=2.0,
                  sim_weight=0.5, norm_weight=0.05,
                  alignment=dict(type='FeatureAlignmentLoss', fg_threshold=0.4,
                                 bg_threshold=0.2, norm_reference='target'))])
optim_wrapper = dict(paramwise_cfg=dict(classifier_keys=('head.', )))
custom_hooks = [dict(type='ClassNumCheckHook'),
                dict(type='BridgingGapWarmupHook', warmup_epochs=3)]
work_dir = 'work_dirs/bridging_gap/resnet50_imagenet'
