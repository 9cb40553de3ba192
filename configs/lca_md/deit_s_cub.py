_base_ = [
    '../_base_/models/lca_md_deit_s.py',
    '../_base_/datasets/cub_native_lca_md_bs256_224.py',
    '../_base_/schedules/adamw_bs256_step30_60e.py',
    '../_base_/transformer_runtime.py',
]
model = dict(head=dict(num_classes=200))
# Checkpoint selection as released: the best oracle-sweep GT-Known (`model_best.pth` on
# `GT-Known_top-1`), not default_runtime's maxboxaccv2/mean (README, Evaluation).
default_hooks = dict(checkpoint=dict(save_best='sweep/gt_known', rule='greater'))
