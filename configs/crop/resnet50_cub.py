_base_ = [
    '../_base_/models/cam_resnet50.py', '../_base_/datasets/cub_bs32_224.py',
    '../_base_/schedules/sgd_step15_50e.py', '../_base_/default_runtime.py'
]
# scripts/resnet_cub_ours.sh: batch 16; 50 epochs, x0.1 every 15 (CAM base).
# lr groups as the official code: all but the ResNet stem BN at 10 x lr.
# CUB: class-agnostic maps (CAAM) and 25 CE-only epochs before the consistency.
# CropConsistency wraps the CAMLocalizer that the other `model` keys configure.
model = dict(
    type='CropConsistency', localizer='CAMLocalizer',
    backbone=dict(large_feature_map=True),
    crop_threshold=0.35, crop_ratio=0.4,
    loss_pos=1.0, loss_neg=0.1, loss_ratio=0.65, class_agnostic=True)
train_dataloader = dict(batch_size=16)
auto_scale_lr = dict(base_batch_size=16)
optim_wrapper = dict(optimizer=dict(lr=5.253329993e-4, weight_decay=5e-4),
                     paramwise_cfg=dict(rule='small_object_matters'))
custom_hooks = [dict(type='ClassNumCheckHook'),
                dict(type='CropConsistencyHook', start_epoch=25)]
# glibc keeps freed memory in the process on CPU runs (env_cfg.cpu_malloc, off in the
# default runtime): this step's 51 MB blocks (2048 channels at 28 x 28, two passes) are
# otherwise mapped and faulted in again every step. benchmarks/cpu_malloc.py on the Zen 4
# guest (2026-12-05, median step, 2 and 3 rounds): 1.07x and 1.07x, peak memory +1.5 % and
# +3.3 %, 5.6 % below the released step's beside it in released_step.py (docs/speed.md).
# VGG16 and InceptionV3 crop consistency keep it off (1.04x with +11 % peak memory, 0.94x).
env_cfg = dict(cpu_malloc=dict(enable=True))
