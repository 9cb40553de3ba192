# wsolevaluation InceptionV3-CAM: trunk to Mixed_6e (Mixed_6a stride 1), SPG-style head
# (dropout, 3x3 768->1024, 3x3 1024->1024, 1x1 -> C); CAM = class-map channel.
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
    backbone=dict(type='InceptionV3CAM', large_feature_map=True, pretrained='torchvision'),
    head=dict(type='ConvClassMapHead', num_classes=200, in_channels=768, mid_channels=1024,
              dropout=0.5, loss=dict(type='CrossEntropyLoss')),
    # the post-processor of every prediction: score-map normaliser, resize, top-k maps
    test_cfg=dict(norm=dict(type='MinMax'), interpolation='bicubic', topk_cams=5),
)
