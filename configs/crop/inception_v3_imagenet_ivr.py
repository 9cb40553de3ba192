_base_ = ['./inception_v3_imagenet.py']
# scripts/inception_imagenet_ours_with_ivr.sh: same values, IVR normalisation (percentile
# 0.4) for the final maps AND inside the two-pass computation (--crop_with_norm).
model = dict(crop_with_norm=True,
             test_cfg=dict(norm=dict(type='IVR', percentile=0.4)))
