# TS-CAM on Conformer-S (spec §1.7): transformer class maps x summed cls attention;
# logits = GAP(transformer class maps) + linear head of the CNN branch.
# The official ImageNet Conformer-S weights must be downloaded by hand to this path.
model = dict(
    type='TSCAMLocalizer',
    data_preprocessor=dict(type='WSOLDataPreprocessor'),
    backbone=dict(type='Conformer', arch='small', depth=12,
                  pretrained='pretrained/Conformer_small_patch16.pth', drop_path_rate=0.1,
                  out_cls_attention=True),
    head=dict(type='ConformerCAMHead', num_classes=200, in_channels=384, cnn_channels=1024,
              loss=dict(type='CrossEntropyLoss')),
    normalize_attention=False,
    test_cfg=dict(norm=dict(type='MinMax'), interpolation='bilinear', topk_cams=5),
)
