_base_ = [
    '../_base_/models/cam_inception_v3.py', '../_base_/datasets/cub_bs32_224.py',
    '../_base_/schedules/sgd_step15_50e.py', '../_base_/default_runtime.py'
]
# 28x28 map; lr from Small-Object-Matters' inception_cub script (not tuned for plain CAM).
optim_wrapper = dict(optimizer=dict(lr=4.203227536e-3))
