_base_ = ['../cam/inception_v3_imagenet.py']
# ADL after Mixed_5d, Mixed_6e and the head's second conv (wsolevaluation InceptionAdl, whose
# head has no dropout); drop rate 0.75, threshold 0.9 (wsolevaluation config.py defaults).
model = dict(
    backbone=dict(adl=dict(drop_rate=0.75, drop_threshold=0.9)),
    head=dict(type='ADLConvClassMapHead', dropout=0.0,
              adl=dict(drop_rate=0.75, drop_threshold=0.9)))
custom_hooks = [dict(type='ClassNumCheckHook'), dict(type='MethodSeedHook')]
