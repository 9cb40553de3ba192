_base_ = ['../cam/vgg16_cub.py']
# ADL after pool3, conv4_3 and conv5_3 (wsolevaluation VGG16-ADL); drop rate 0.75,
# threshold 0.9 (wsolevaluation config.py defaults; its tuned values are not public).
model = dict(backbone=dict(adl=dict(drop_rate=0.75, drop_threshold=0.9)))
custom_hooks = [dict(type='ClassNumCheckHook'), dict(type='MethodSeedHook')]
