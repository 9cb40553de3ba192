# timm's ViT-S/16 (D=384, 12 blocks, hub weights); see the README for the released legacy
# geometry (`arch='vit_s_legacy'`).
_base_ = [
    '../_base_/models/lca_md_deit_s.py',
    '../_base_/datasets/cub_native_lca_md_bs256_224.py',
    '../_base_/schedules/adamw_step30_30e.py',
    '../_base_/default_runtime.py',
]
model = dict(backbone=dict(arch='vit_s'), head=dict(num_classes=200))
