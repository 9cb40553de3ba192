# The released DeiT-B ILSVRC yaml trains 10 epochs: x0.1 at released epoch 10 (= index 9).
_base_ = [
    '../_base_/models/lca_md_deit_s.py',
    '../_base_/datasets/imagenet_sweep_bs128_224.py',
    '../_base_/schedules/adamw_lr1e-6_step10-12_20e.py',
    '../_base_/transformer_runtime.py',
]
model = dict(backbone=dict(arch='deit_b'), head=dict(num_classes=1000, in_channels=768))
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[9], gamma=0.1)]
train_cfg = dict(max_epochs=10)
# Checkpoint selection as released: the best oracle-sweep GT-Known (`model_best.pth` on
# `GT-Known_top-1`), not default_runtime's maxboxaccv2/mean (README, Evaluation).
default_hooks = dict(checkpoint=dict(save_best='sweep/gt_known', rule='greater'))
