model = dict(
    type='CAMLocalizer',
    data_preprocessor=dict(type='WSOLDataPreprocessor'),
    backbone=dict(type='ResNetCAM', depth=18, large_feature_map=False),
    head=dict(type='CAMHead', num_classes=4, in_channels=512,
              loss=dict(type='CrossEntropyLoss')),
    test_cfg=dict(topk_cams=5),
)
