_base_ = ['../acol/resnet50_cub.py']
# ACoL with crop consistency on top: the ACoL recipe of the base config plus the
# crop values of configs/crop/resnet50_cub.py (scripts/*_cub_ours.sh, tuned for CAM: starting
# points, no released ACoL + crop run): class-agnostic maps, 25 CE-only epochs.
# loss_acol_erased counts on both passes (other_method_loss_ratio 1).
model = dict(
    type='CropConsistency', localizer='ACoLLocalizer',
    crop_threshold=0.35, crop_ratio=0.4,
    loss_pos=1.0, loss_neg=0.1, loss_ratio=0.65, class_agnostic=True)
custom_hooks = [dict(type='ClassNumCheckHook'),
                dict(type='CropConsistencyHook', start_epoch=25)]
