_base_ = ['../cam/resnet50_cub.py']
# ejkim47/bridging-gap-wsol configs/config_exp.yaml: 70 epochs, lr 0.002 x0.2 before 1-based
# epochs 41 and 61, wd 1e-4, batch 32, 28x28 maps; fc at 10x lr, everything else at lr;
# CE + 2.0 L_drop, + 0.5 L_sim + 0.05 L_norm (max-class reference) after 20 warm-up epochs.
model = dict(
    backbone=dict(type='ResNetBridCAM'),
    methods=[dict(type='BridgingGap', drop_threshold=0.8, drop_prob=0.25, drop_weight=2.0,
                  sim_weight=0.5, norm_weight=0.05,
                  alignment=dict(type='FeatureAlignmentLoss', fg_threshold=0.4,
                                 bg_threshold=0.2, norm_reference='max_class'))])
optim_wrapper = dict(optimizer=dict(lr=0.002, weight_decay=1e-4),
                     paramwise_cfg=dict(classifier_keys=('head.', )))
param_scheduler = dict(milestones=[40, 60], gamma=0.2)
train_cfg = dict(max_epochs=70)
custom_hooks = [dict(type='ClassNumCheckHook'),
                dict(type='BridgingGapWarmupHook', warmup_epochs=20)]
