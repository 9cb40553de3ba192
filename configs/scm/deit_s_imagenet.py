_base_ = [
    '../_base_/models/scm_deit_s.py',
    '../_base_/datasets/imagenet_sweep_bs128_224.py',
    '../_base_/schedules/adamw_lr1e-6_step10-12_20e.py',
    '../_base_/transformer_runtime.py',
]
model = dict(head=dict(num_classes=1000))
# Checkpoint selection as released: the best oracle-sweep GT-Known (`model_best.pth` on
# `GT-Known_top-1`), not default_runtime's maxboxaccv2/mean (README, Evaluation).
default_hooks = dict(checkpoint=dict(save_best='sweep/gt_known', rule='greater'))
