_base_ = ['../cam/resnet18_synthetic.py']
# SPG on the CPU quickstart (SyntheticWSOL, ResNet18, 7x7 maps at 112 px inputs): B1 / B2 read
# layer3's first block / layer3 (256 channels), SPG_C layer4 (512); branches 256 wide
# (starting points; released 1024 / 512 on ResNet50); thresholds of wsolevaluation config.py;
# masks at the 112 px input size.
model = dict(
    backbone=dict(type='ResNetSPGCAM'),
    head=dict(type='Conv1x1ClassMapHead'),
    methods=[dict(type='SPG', b1_channels=256, b2_channels=256, c_channels=512,
                  branch_channels=256, c_mid_channels=256, threshold_1h=0.7, threshold_1l=0.01,
                  threshold_2h=0.5, threshold_2l=0.05, threshold_3h=0.7, threshold_3l=0.1)])
