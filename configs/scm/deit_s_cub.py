_base_ = [
    '../_base_/models/scm_deit_s.py',
    '../_base_/datasets/cub_scm_bs16_224.py',
    '../_base_/schedules/adamw_step30_30e.py',
    '../_base_/transformer_runtime.py',
]
model = dict(head=dict(num_classes=200))
auto_scale_lr = dict(base_batch_size=16)
# Checkpoint selection as released: the best oracle-sweep GT-Known (`model_best.pth` on
# `GT-Known_top-1`), not default_runtime's maxboxaccv2/mean (README, Evaluation).
default_hooks = dict(checkpoint=dict(save_best='sweep/gt_known', rule='greater'))
