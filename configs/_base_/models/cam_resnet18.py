model = dict(
    type='CAMLocalizer',
    data_preprocessor=dict(type='WSOLDataPreprocessor'),
    backbone=dict(type='ResNetCAM', depth=18, large_feature_map=False),
    head=dict(type='CAMHead', num_classes=4, in_channels=512,
              loss=dict(type='CrossEntropyLoss')),
    # the post-processor of every prediction: score-map normaliser, resize, top-k maps
    test_cfg=dict(norm=dict(type='MinMax'), interpolation='bicubic', topk_cams=5),
)
