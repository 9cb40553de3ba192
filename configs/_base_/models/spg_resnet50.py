# wsolevaluation ResNetSpg: layer3 split after its first block (B1) and at its end (B2),
# 1x1 conv 2048->C on layer4 = class maps (SPG_A4, the CAM); auxiliary branches B1/B2
# (1024 channels, shared last layers) and C (on layer4) trained by SPG's masks. Xavier init.
# Thresholds: wsolevaluation config.py defaults (spg_threshold_1h ... _3l).
model = dict(
    type='CAMLocalizer',
    # channels-last batches: oneDNN's convolutions train faster on CPU (docs/speed.md)
    data_preprocessor=dict(type='WSOLDataPreprocessor', channels_last=True),
    # wide 3x3 convolutions train by Winograd's F(4x4, 3x3) on CPU in float32 (fewer
    # products, float rounding ~1e-5 relative; evaluation runs the direct ones; docs/speed.md)
    winograd_convs=True,
    backbone=dict(type='ResNetSPGCAM', depth=50, large_feature_map=True,
                  pretrained='torchvision'),
    head=dict(type='Conv1x1ClassMapHead', num_classes=200, in_channels=2048,
              loss=dict(type='CrossEntropyLoss')),
    methods=[dict(type='SPG', b1_channels=1024, b2_channels=1024, c_channels=2048,
                  branch_channels=1024, threshold_1h=0.7, threshold_1l=0.01,
                  threshold_2h=0.5, threshold_2l=0.05, threshold_3h=0.7, threshold_3l=0.1)],
    test_cfg=dict(norm=dict(type='MinMax'), topk_cams=5),
)
