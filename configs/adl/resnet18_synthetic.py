_base_ = ['../cam/resnet18_synthetic.py']
# ADL on ResNet18 (2 blocks per stage): after layer3 block 0 and layer4 blocks 0 and 1 (the
# ResNet50 pattern: first block of layer3, first and last of layer4); wsolevaluation values.
model = dict(backbone=dict(adl=dict(drop_rate=0.75, drop_threshold=0.9),
                           adl_positions=dict(layer3=(0, ), layer4=(0, 1))))
custom_hooks = [dict(type='ClassNumCheckHook'), dict(type='MethodSeedHook')]
