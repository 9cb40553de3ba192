_base_ = [
    '../_base_/models/cam_vgg16.py', '../_base_/datasets/openimages_bs32_224.py',
    '../_base_/schedules/sgd_step3_10e.py', '../_base_/default_runtime.py'
]
# wsolevaluation README example (OpenImages, VGG16, CAM): bs 32, 10 epochs, decay every 3,
# wd 5e-4, large_feature_map False.
model = dict(head=dict(num_classes=100))
optim_wrapper = dict(optimizer=dict(lr=0.00227913316, weight_decay=5e-4))
default_hooks = dict(checkpoint=dict(save_best='pxap/pxap'))
