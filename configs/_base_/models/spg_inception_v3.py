# wsolevaluation InceptionSpg: InceptionV3-CAM network (same head: dropout, SPG_A3_1b,
# SPG_A3_2b, SPG_A4 = class maps); B1 reads Mixed_5d (288 ch), B2 Mixed_6d (768 ch), SPG_C
# the dropped-out 1024-channel map before SPG_A4. Xavier init. Thresholds: config.py defaults.
model = dict(
    type='CAMLocalizer',
    # channels-last batches: oneDNN's convolutions train faster on CPU (docs/speed.md)
    data_preprocessor=dict(type='WSOLDataPreprocessor', channels_last=True),
    # wide 3x3 convolutions train by Winograd's F(4x4, 3x3) on CPU in float32 (fewer
    # products, float rounding ~1e-5 relative; evaluation runs the direct ones; docs/speed.md)
    winograd_convs=True,
    # ... except the head's 3x3 1024-channel convolutions: NCHW is faster there in
    # float32 (same values)
    contiguous_modules=['head.conv1'],
    backbone=dict(type='InceptionV3SPGCAM', large_feature_map=True, pretrained='torchvision'),
    head=dict(type='ConvClassMapHead', num_classes=200, in_channels=768, mid_channels=1024,
              dropout=0.5, loss=dict(type='CrossEntropyLoss')),
    methods=[dict(type='SPG', b1_channels=288, b2_channels=768, c_channels=1024,
                  branch_channels=512, threshold_1h=0.7, threshold_1l=0.01,
                  threshold_2h=0.5, threshold_2l=0.05, threshold_3h=0.7, threshold_3l=0.1)],
    test_cfg=dict(norm=dict(type='MinMax'), topk_cams=5),
)
