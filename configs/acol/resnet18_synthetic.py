_base_ = ['../cam/resnet18_synthetic.py']
# ACoL on the CPU quickstart (SyntheticWSOL, ResNet18, 7x7 maps at 112 px inputs): threshold
# 0.7 (wsolevaluation config.py); branches 256 wide instead of the released 1024 so that it
# trains in minutes on 2 cores (a starting point). Xavier init, not the released ResNet's He:
# He (fan_out) gives the 4-class 1x1 conv std 0.7 and the run stays at chance at this lr.
# GT-class maps only (each extra class costs one branch-B pass).
model = dict(type='ACoLLocalizer',
             head=dict(type='ACoLHead', mid_channels=256, drop_threshold=0.7,
                       init_mode='xavier'),
             test_cfg=dict(norm=dict(type='MinMax'), topk_cams=0))
