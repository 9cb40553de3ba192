_base_ = ['../cam/resnet50_openimages.py']
# ADL after layer3 block 0 and layer4 blocks 0 and 2 (wsolevaluation ResNetAdl); drop rate
# 0.75, threshold 0.9 (wsolevaluation config.py defaults; its tuned values are not public).
model = dict(backbone=dict(adl=dict(drop_rate=0.75, drop_threshold=0.9)))
custom_hooks = [dict(type='ClassNumCheckHook'), dict(type='MethodSeedHook')]
