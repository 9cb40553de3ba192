# LCA-MD CUB DeiT-S recipe (spec §2.7): the TS-CAM CUB schedule (AdamW lr 5e-5, wd 0.05,
# x0.1 at released epochs 30 and 60) for the released batch of 256.
_base_ = ['./adamw_step30_60e.py']
auto_scale_lr = dict(base_batch_size=256, enable=False)
