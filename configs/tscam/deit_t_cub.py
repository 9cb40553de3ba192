_base_ = [
    '../_base_/models/tscam_deit_s.py', '../_base_/datasets/cub_tscam_bs128_224.py',
    '../_base_/schedules/adamw_step30_60e.py', '../_base_/transformer_runtime.py'
]
model = dict(backbone=dict(arch='deit_t'), head=dict(num_classes=200, in_channels=192))
