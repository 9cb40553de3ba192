_base_ = ['./resnet50_imagenet.py']
# scripts/resnet_imagenet_ours_with_ivr.sh: same values, IVR normalisation (percentile
# 0.3) for the final maps AND inside the two-pass computation (--crop_with_norm).
model = dict(crop_with_norm=True,
             test_cfg=dict(norm=dict(type='IVR', percentile=0.3)))
