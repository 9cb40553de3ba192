# SCM / LCA-MD ILSVRC recipe (spec §2.7, §5.2): the TS-CAM ILSVRC schedule (AdamW, wd 0.05,
# x0.1 at released epochs 10, 12, 20) with lr 1e-6 for the released batch of 512.
_base_ = ['./adamw_step10-12_20e.py']
optim_wrapper = dict(optimizer=dict(lr=1e-6))
auto_scale_lr = dict(base_batch_size=512, enable=False)
