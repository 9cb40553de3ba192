_base_ = [
    '../_base_/models/cam_resnet50.py', '../_base_/datasets/openimages_bs32_224.py',
    '../_base_/schedules/sgd_step3_10e.py', '../_base_/default_runtime.py'
]
# 14x14 map (layer3 stride 2) and lr / wd as Small-Object-Matters' resnet_openimages script.
model = dict(backbone=dict(large_feature_map=False), head=dict(num_classes=100))
optim_wrapper = dict(optimizer=dict(lr=4.009288426e-4, weight_decay=1e-4))
default_hooks = dict(checkpoint=dict(save_best='pxap/pxap'))
