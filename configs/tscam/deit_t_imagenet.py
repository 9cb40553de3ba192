_base_ = [
    '../_base_/models/tscam_deit_s.py', '../_base_/datasets/imagenet_tscam_bs64_224.py',
    '../_base_/schedules/adamw_step10-12_20e.py', '../_base_/transformer_runtime.py'
]
model = dict(backbone=dict(arch='deit_t'), head=dict(num_classes=1000, in_channels=192))
# Released train batch 128 (4 GPUs x 32); test batch unchanged (256).
train_dataloader = dict(batch_size=32)
auto_scale_lr = dict(base_batch_size=128)
