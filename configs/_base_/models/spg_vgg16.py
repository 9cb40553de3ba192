# wsolevaluation VggSpg: conv1-3 (features), conv4 (SPG_A_1; B1 after it and a 3x3/2 pool),
# conv5 (SPG_A_2; B2), then SPG_A_3 (two 3x3 512->512) + SPG_A_4 (1x1 -> C = the CAM) as a
# ConvClassMapHead without dropout; SPG_C reads the SPG_A_3 map. Xavier init.
# Thresholds: wsolevaluation config.py defaults.
model = dict(
    type='CAMLocalizer',
    # channels-last batches: oneDNN's convolutions train faster on CPU (docs/speed.md)
    data_preprocessor=dict(type='WSOLDataPreprocessor', channels_last=True),
    # wide 3x3 convolutions train by Winograd's F(4x4, 3x3) on CPU in float32 (fewer
    # products, float rounding ~1e-5 relative; evaluation runs the direct ones; docs/speed.md)
    winograd_convs=True,
    backbone=dict(type='VGG16SPGCAM', large_feature_map=False, pretrained='torchvision'),
    head=dict(type='ConvClassMapHead', num_classes=200, in_channels=512, mid_channels=512,
              dropout=0.0, loss=dict(type='CrossEntropyLoss')),
    methods=[dict(type='SPG', b1_channels=512, b2_channels=512, c_channels=512,
                  branch_channels=512, threshold_1h=0.7, threshold_1l=0.01,
                  threshold_2h=0.5, threshold_2l=0.05, threshold_3h=0.7, threshold_3l=0.1)],
    test_cfg=dict(norm=dict(type='MinMax'), topk_cams=5),
)
