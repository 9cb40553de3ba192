# 30-epoch CUB recipe of the released LCA-MD DeiT-B / ViT-S / Conformer-S and SCM configs
# (spec §3.4, §2.9): AdamW lr 5e-5, x0.1 at the start of released epoch 30 = mmengine
# 0-indexed epoch 29 (the last one, kept for fidelity). Batch 256 = LCA-MD (SCM sets 16).
_base_ = ['./adamw_step30_60e.py']
param_scheduler = [dict(type='MultiStepLR', by_epoch=True, milestones=[29], gamma=0.1)]
train_cfg = dict(max_epochs=30)
auto_scale_lr = dict(base_batch_size=256, enable=False)
