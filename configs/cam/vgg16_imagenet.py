_base_ = [
    '../_base_/models/cam_vgg16.py', '../_base_/datasets/imagenet_bs32_224.py',
    '../_base_/schedules/sgd_step3_10e.py', '../_base_/default_runtime.py'
]
# lr from Small-Object-Matters' vgg_imagenet script (not tuned for plain CAM).
model = dict(head=dict(num_classes=1000))
optim_wrapper = dict(optimizer=dict(lr=6.680514664e-5))
