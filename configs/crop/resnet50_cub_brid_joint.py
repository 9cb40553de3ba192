_base_ = ['./resnet50_cub.py']
# Bridging the gap and crop consistency trained JOINTLY in one run (no released run: the
# Small-Object-Matters port has the split backbones but no Brid loss, its Brid + crop scripts
# are two-stage with crop losses only, see resnet50_imagenet_brid.py). STARTING POINTS: the
# crop recipe of the base (scripts/resnet_cub_ours.sh: batch 16, its lr and lr groups,
# tau 0.35, nu 0.4, l1 1.0, l2 0.1, l3 0.65, CAAM, consistency from epoch 25) plus the split
# backbone, the BridgingGap component and its 20 warm-up epochs of
# configs/bridging_gap/resnet50_cub.py. Its loss_brid_* terms count on both passes:
# other_method_loss_ratio * (original + zoom); the crop terms are scaled by
# crop_method_loss_ratio.
model = dict(
    backbone=dict(type='ResNetBridCAM'),
    methods=[dict(type='BridgingGap', drop_threshold=0.8, drop_prob=0.25, drop_weight=2.0,
                  sim_weight=0.5, norm_weight=0.05,
                  alignment=dict(type='FeatureAlignmentLoss', fg_threshold=0.4,
                                 bg_threshold=0.2, norm_reference='max_class'))],
    other_method_loss_ratio=1.0, crop_method_loss_ratio=1.0)
custom_hooks = [dict(type='ClassNumCheckHook'),
                dict(type='BridgingGapWarmupHook', warmup_epochs=20),
                dict(type='CropConsistencyHook', start_epoch=25)]
