_base_ = [
    '../_base_/models/tscam_deit_s.py', '../_base_/datasets/imagenet_tscam_bs64_224.py',
    '../_base_/schedules/adamw_step10-12_20e.py', '../_base_/transformer_runtime.py'
]
model = dict(head=dict(num_classes=1000))
