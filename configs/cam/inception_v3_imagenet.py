_base_ = [
    '../_base_/models/cam_inception_v3.py', '../_base_/datasets/imagenet_bs32_224.py',
    '../_base_/schedules/sgd_step3_10e.py', '../_base_/default_runtime.py'
]
# lr from Small-Object-Matters' inception_imagenet script (not tuned for plain CAM).
model = dict(head=dict(num_classes=1000))
optim_wrapper = dict(optimizer=dict(lr=1.260374694e-4))
