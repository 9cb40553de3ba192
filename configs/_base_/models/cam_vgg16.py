# wsolevaluation VGG16-CAM: conv stack without pool5 (14x14; also without pool4 when
# large_feature_map -> 28x28), conv6 3x3 512->1024 + ReLU, GAP + fc.
model = dict(
    type='CAMLocalizer',
    # channels-last batches: oneDNN's convolutions train faster on CPU (docs/speed.md)
    data_preprocessor=dict(type='WSOLDataPreprocessor', channels_last=True),
    # wide 3x3 convolutions train by Winograd's F(4x4, 3x3) on CPU in float32 (fewer
    # products, float rounding ~1e-5 relative; evaluation runs the direct ones; docs/speed.md)
    winograd_convs=True,
    backbone=dict(type='VGG16CAM', large_feature_map=False, pretrained='torchvision'),
    head=dict(type='CAMHead', num_classes=200, in_channels=1024,
              loss=dict(type='CrossEntropyLoss')),
    # the post-processor of every prediction: score-map normaliser, resize, top-k maps
    test_cfg=dict(norm=dict(type='MinMax'), interpolation='bicubic', topk_cams=5),
)
