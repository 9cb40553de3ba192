_base_ = ['./vgg16_imagenet.py']
# scripts/vgg_imagenet_ours_with_brid.sh: crop-consistency fine-tuning (crop losses only, as
# released) of a Bridging-gap checkpoint (stage 1: configs/bridging_gap/vgg16_imagenet.py);
# nu 1 (pasted map for every box smaller than the grid); best val checkpoint.
model = dict(backbone=dict(type='VGG16BridCAM', pretrained=None),
             crop_ratio=1.0)
load_from = 'work_dirs/bridging_gap/vgg16_imagenet/epoch_10.pth'
