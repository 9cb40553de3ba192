_base_ = ['./resnet50_imagenet.py']
# scripts/resnet_imagenet_ours_with_da.sh: crop-consistency fine-tuning (10 epochs) of a
# DA-WSOL checkpoint (stage 1: configs/da_wsol/resnet50_imagenet.py); train_only_classifier
# TRUE = wsolevaluation lr groups; model selection on the best val checkpoint.
model = dict(
    backbone=dict(pretrained=None), head=dict(pretrained=None),
    crop_threshold=0.85, crop_ratio=0.1, loss_pos=0.8, loss_neg=0.8,
    loss_ratio=0.2)
optim_wrapper = dict(optimizer=dict(lr=1.305290365e-5, weight_decay=1e-4),
                     paramwise_cfg=dict(rule='wsolevaluation'))
load_from = 'work_dirs/da_wsol/resnet50_imagenet/epoch_10.pth'
