_base_ = [
    '../_base_/models/cam_resnet18.py', '../_base_/datasets/synthetic_bs32_128.py',
    '../_base_/schedules/sgd_8e.py', '../_base_/default_runtime.py'
]
