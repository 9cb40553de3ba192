_base_ = ['../cam/resnet18_synthetic.py']
# ACoL on the CPU quickstart (SyntheticWSOL, ResNet18, 8x8 maps at 128 px): threshold 0.7
# (wsolevaluation config.py); branches 256 wide instead of the released 1024 so that it
# trains in minutes on 2 cores (a starting point); He init as the released ResNet model.
# GT-class maps only (each extra class costs one branch-B pass).
model = dict(type='ACoLLocalizer',
             head=dict(type='ACoLHead', mid_channels=256, drop_threshold=0.7, init_mode='he'),
             test_cfg=dict(topk_cams=0))
