_base_ = ['./resnet50_imagenet.py']
# scripts/resnet_imagenet_ours_with_brid.sh: crop-consistency fine-tuning (crop losses only,
# as released) of a Bridging-gap checkpoint (stage 1: configs/bridging_gap/resnet50_imagenet.py);
# CAM from the unerased map; model selection on the best val checkpoint.
model = dict(
    backbone=dict(type='ResNetBridCAM', pretrained=None), head=dict(pretrained=None),
    crop_threshold=0.85, crop_ratio=0.1, loss_pos=0.6, loss_neg=1.0,
    loss_ratio=0.7)
optim_wrapper = dict(optimizer=dict(lr=3.397832054e-5, weight_decay=1e-4))
load_from = 'work_dirs/bridging_gap/resnet50_imagenet/epoch_10.pth'
