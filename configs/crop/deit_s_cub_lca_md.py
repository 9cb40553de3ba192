_base_ = ['../lca_md/deit_s_cub.py']
# Crop consistency on LCA-MD (DeiT-S, CUB): the wrapper around LCA-MD's TSCAMLocalizer with
# its TFCM and SSFM necks. Per pass, LCA-MD's own loss (0.6 CE of the SSFM-refined maps, 0.4
# TFCM SimMax/SimMin); the TFCM terms of both passes enter as
# other_method_loss_ratio * (original + zoom), as DA-WSOL's do in the released joint training.
# Not released: the hyper-parameters are STARTING POINTS (as configs/crop/deit_s_cub_tscam.py;
# consistency from half of the 60 epochs on), see configs/crop/README.md. Two passes per step
# need about twice LCA-MD's activation memory (batch 256).
model = dict(type='CropConsistency', localizer='TSCAMLocalizer', crop_threshold=0.35,
             crop_ratio=0.4, loss_pos=1.0, loss_neg=0.1, loss_ratio=0.65,
             other_method_loss_ratio=1.0)
custom_hooks = [dict(type='ClassNumCheckHook'),
                dict(type='CropConsistencyHook', start_epoch=30)]
# Crop consistency keeps glibc's default trimming (two passes per step: with no trimming
# the CNN crop steps peaked 5-9 % higher, docs/speed.md); the base's cpu_malloc is off here.
env_cfg = dict(cpu_malloc=dict(enable=False))
