_base_ = ['../scm/deit_s_cub.py']
# Crop consistency on SCM (DeiT-S, CUB): the wrapper around SCM's TSCAMLocalizer + SSFM neck.
# Each pass' classification loss is SCM's own (CE of the SSFM-refined maps); the maps that are
# cropped and compared are the inference maps minmax(a) * S_c. Not released: the
# hyper-parameters are STARTING POINTS (as configs/crop/deit_s_cub_tscam.py; consistency from
# half of SCM's 30 epochs on), see configs/crop/README.md.
model = dict(type='CropConsistency', localizer='TSCAMLocalizer', crop_threshold=0.35,
             crop_ratio=0.4, loss_pos=1.0, loss_neg=0.1, loss_ratio=0.65)
custom_hooks = [dict(type='ClassNumCheckHook'),
                dict(type='CropConsistencyHook', start_epoch=15)]
# Crop consistency keeps glibc's default trimming (two passes per step: with no trimming
# the CNN crop steps peaked 5-9 % higher, docs/speed.md); the base's cpu_malloc is off here.
env_cfg = dict(cpu_malloc=dict(enable=False))
