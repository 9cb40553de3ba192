_base_ = ['../cam/vgg16_cub.py']
# ejkim47/bridging-gap-wsol configs/config_exp_vgg.yaml: 70 epochs, lr 0.004 x0.2 before
# 1-based epochs 41 and 61, wd 5e-4, batch 64 (32 in the warm-up upstream), 14x14 maps;
# conv stack at lr, conv6 + fc at 5x; CE + 3.0 L_drop, + 0.5 L_sim + 0.15 L_norm
# (max-class reference, thresholds 0.6 / 0.1) after 20 warm-up epochs.
model = dict(
    backbone=dict(type='VGG16BridCAM', large_feature_map=False),
    methods=[dict(type='BridgingGap', drop_threshold=0.8, drop_prob=0.5, drop_weight=3.0,
                  sim_weight=0.5, norm_weight=0.15,
                  alignment=dict(type='FeatureAlignmentLoss', fg_threshold=0.6,
                                 bg_threshold=0.1, norm_reference='max_class'))])
train_dataloader = dict(batch_size=64)
optim_wrapper = dict(optimizer=dict(lr=0.004, weight_decay=5e-4),
                     paramwise_cfg=dict(classifier_lr_mult=5))
param_scheduler = dict(milestones=[40, 60], gamma=0.2)
train_cfg = dict(max_epochs=70)
custom_hooks = [dict(type='ClassNumCheckHook'),
                dict(type='BridgingGapWarmupHook', warmup_epochs=20)]
