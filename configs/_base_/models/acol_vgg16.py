# wsolevaluation VggAcol: VGG16 with 3x3 overlapping pools (last one stride 1), 3x3 average
# pool, no conv6 (512 channels, 14x14 maps); two classifier branches (Xavier init).
model = dict(
    type='ACoLLocalizer',
    # channels-last batches: oneDNN's convolutions train faster on CPU (docs/speed.md)
    data_preprocessor=dict(type='WSOLDataPreprocessor', channels_last=True),
    # wide 3x3 convolutions train by Winograd's F(4x4, 3x3) on CPU in float32 (fewer
    # products, float rounding ~1e-5 relative; evaluation runs the direct ones; docs/speed.md)
    winograd_convs=True,
    # ... except the head's 3x3 1024-channel convolutions: NCHW is faster there in
    # float32 (same values)
    contiguous_modules=['head.classifier_A.0', 'head.classifier_B.0'],
    backbone=dict(type='VGG16ACoLCAM', large_feature_map=False, pretrained='torchvision'),
    head=dict(type='ACoLHead', num_classes=200, in_channels=512, mid_channels=1024,
              drop_threshold=0.7, init_mode='xavier', loss=dict(type='CrossEntropyLoss')),
    # GT-class maps only: the wsolevaluation metrics read nothing else, and every extra
    # class costs one branch-B pass (topk_cams=5 for top-k localisation metrics).
    test_cfg=dict(norm=dict(type='MinMax'), topk_cams=0),
)
