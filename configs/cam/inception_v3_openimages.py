_base_ = [
    '../_base_/models/cam_inception_v3.py', '../_base_/datasets/openimages_bs32_224.py',
    '../_base_/schedules/sgd_step3_10e.py', '../_base_/default_runtime.py'
]
# lr from Small-Object-Matters' inception_openimages script (not tuned for plain CAM).
model = dict(head=dict(num_classes=100))
optim_wrapper = dict(optimizer=dict(lr=1.48741774e-4))
default_hooks = dict(checkpoint=dict(save_best='pxap/pxap'))
