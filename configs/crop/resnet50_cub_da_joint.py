_base_ = ['./resnet50_cub.py']
# DA-WSOL and crop consistency trained JOINTLY in one run (no released run: the released
# `--wsol_method da --crop True` branch was unreachable, its DA + crop scripts are two-stage,
# see resnet50_imagenet_da.py). STARTING POINTS: the crop recipe of the base
# (scripts/resnet_cub_ours.sh: batch 16, its lr and lr groups, tau 0.35, nu 0.4, l1 1.0,
# l2 0.1, l3 0.65, CAAM, consistency from epoch 25) plus the DomainAdaptation component of
# configs/da_wsol/resnet50_cub.py (beta 0.3, u 2). Its loss_da_* terms count on both passes:
# other_method_loss_ratio * (original + zoom); the crop terms are scaled by
# crop_method_loss_ratio.
model = dict(
    methods=[dict(type='DomainAdaptation', num_classes=200, feat_channels=2048, beta=0.3,
                  universum_weight=2.0)],
    other_method_loss_ratio=1.0, crop_method_loss_ratio=1.0)
