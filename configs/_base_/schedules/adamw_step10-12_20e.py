# TS-CAM ILSVRC recipe (spec §1.6): timm AdamW (wd 0.05, eps 1e-8, no decay for 1-D params,
# biases, pos_embed, cls_token), lr 5e-4 for 256 images, x0.1 at the start of released
# (1-indexed) epochs divisible by 10 or 12 -> 10, 12, 20 = mmengine epochs 9, 11, 19.
optim_wrapper = dict(
    # timm's 2 groups (decay / no decay) instead of one per parameter; fused AdamW.
    constructor='MergedGroupsOptimWrapperConstructor',
    optimizer=dict(type='AdamW', lr=5e-4, betas=(0.9, 0.999), eps=1e-8, weight_decay=0.05),
    paramwise_cfg=dict(norm_decay_mult=0.0, bias_decay_mult=0.0, flat_decay_mult=0.0,
                       custom_keys={'pos_embed': dict(decay_mult=0.0),
                                    'cls_token': dict(decay_mult=0.0)}),
)
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[9, 11, 19], gamma=0.1)]
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=20, val_interval=1)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
auto_scale_lr = dict(base_batch_size=256, enable=False)
