_base_ = [
    '../_base_/models/cam_resnet50.py', '../_base_/datasets/cub_bs32_224.py',
    '../_base_/schedules/sgd_step15_50e.py', '../_base_/default_runtime.py'
]
# large_feature_map=True (28x28) as the model base; lr from Small-Object-Matters'
# resnet_cub script (the CAM lrs of wsolevaluation's spreadsheet are not public).
optim_wrapper = dict(optimizer=dict(lr=5.253329993e-4))
