# TS-CAM on DeiT-S/16 (spec §1.1-§1.3). Leaves override `backbone.arch`, `head.in_channels`
# and `head.num_classes`. `pretrained=True` = the official DeiT file (torch hub's cache, see
# configs/tscam/README.md).
model = dict(
    type='TSCAMLocalizer',
    data_preprocessor=dict(type='WSOLDataPreprocessor'),
    backbone=dict(type='VisionTransformer', arch='deit_s', pretrained=True, img_size=224,
                  drop_path_rate=0.1, out_cls_attention=True),
    head=dict(type='ConvCAMHead', num_classes=200, in_channels=384,
              loss=dict(type='CrossEntropyLoss')),
    normalize_attention=False,
    # The patch map is a channel-minor view of the tokens: fed as is, oneDNN runs the 3x3 head
    # in channels-last and converts its weight on every call (2-4 ms of an LCA-MD step on a
    # 2-core Xeon, docs/speed_design.md); NCHW as released (`x_patch.contiguous()`).
    contiguous_modules=['head.conv'],
    # GT + top-5 maps so the fixed, sweep and wsolevaluation protocols can all be evaluated.
    test_cfg=dict(norm=dict(type='MinMax'), interpolation='bilinear', topk_cams=5),
)
