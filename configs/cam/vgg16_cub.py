_base_ = [
    '../_base_/models/cam_vgg16.py', '../_base_/datasets/cub_bs32_224.py',
    '../_base_/schedules/sgd_step15_50e.py', '../_base_/default_runtime.py'
]
# 14x14 map; lr / wd / schedule quoted for CUB VGG16 CAM in wsolevaluation issue #60.
optim_wrapper = dict(optimizer=dict(lr=1.268269e-5, weight_decay=5e-4))
