_base_ = ['./inception_v3_imagenet.py']
# scripts/inception_imagenet_ours_with_da.sh: crop-consistency fine-tuning of a DA-WSOL
# checkpoint (stage 1: configs/da_wsol/inception_v3_imagenet.py); proxy training set,
# wd 1e-4, nu 0.8; model selection on the best val checkpoint.
model = dict(backbone=dict(pretrained=None), crop_ratio=0.8)
train_dataloader = dict(dataset=dict(proxy=True))
optim_wrapper = dict(optimizer=dict(weight_decay=1e-4))
load_from = 'work_dirs/da_wsol/inception_v3_imagenet/epoch_10.pth'
