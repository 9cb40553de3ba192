# wsolevaluation ResNet50-CAM: layer4 stride 1, layer3 stride 1 with large_feature_map
# (28x28 maps at 224), GAP + fc; CAM = fc-weighted channel mean of layer4.
model = dict(
    type='CAMLocalizer',
    # channels-last batches: oneDNN's convolutions train faster on CPU (docs/speed.md)
    data_preprocessor=dict(type='WSOLDataPreprocessor', channels_last=True),
    # wide 3x3 convolutions train by Winograd's F(4x4, 3x3) on CPU in float32 (fewer
    # products, float rounding ~1e-5 relative; evaluation runs the direct ones; docs/speed.md)
    winograd_convs=True,
    backbone=dict(type='ResNetCAM', depth=50, large_feature_map=True, pretrained='torchvision'),
    head=dict(type='CAMHead', num_classes=200, in_channels=2048,
              loss=dict(type='CrossEntropyLoss')),
    # the post-processor of every prediction: score-map normaliser, resize, top-k maps
    test_cfg=dict(norm=dict(type='MinMax'), interpolation='bicubic', topk_cams=5),
)
