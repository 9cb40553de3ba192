_base_ = ['../tscam/deit_s_cub.py']
# Small Object Matters' crop consistency on TS-CAM (DeiT-S, CUB): the CropConsistency wrapper
# around the TSCAMLocalizer of the base config (its keys configure the wrapped localizer). The
# crop box comes from the fused map a * S_c of the GT class; the zoomed crop runs the whole
# localizer again (its fused map pasted back at 224 px). Not released: the hyper-parameters
# are STARTING POINTS (ResNet50-CUB values of scripts/resnet_cub_ours.sh, class-specific maps,
# consistency from half of the schedule on), see configs/crop/README.md.
model = dict(type='CropConsistency', localizer='TSCAMLocalizer', crop_threshold=0.35,
             crop_ratio=0.4, loss_pos=1.0, loss_neg=0.1, loss_ratio=0.65)
custom_hooks = [dict(type='ClassNumCheckHook'),
                dict(type='CropConsistencyHook', start_epoch=30)]
# Crop consistency keeps glibc's default trimming (two passes per step: with no trimming
# the CNN crop steps peaked 5-9 % higher, docs/speed.md); the base's cpu_malloc is off here.
env_cfg = dict(cpu_malloc=dict(enable=False))
