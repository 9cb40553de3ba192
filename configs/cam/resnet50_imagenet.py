_base_ = [
    '../_base_/models/cam_resnet50.py', '../_base_/datasets/imagenet_bs32_224.py',
    '../_base_/schedules/sgd_step3_10e.py', '../_base_/default_runtime.py'
]
# ILSVRC keeps torchvision's pretrained fc (wsolevaluation load_pretrained_model for
# ResNet50 CAM on ILSVRC): the head loads it. lr / wd from Small-Object-Matters' script.
model = dict(head=dict(num_classes=1000, pretrained='torchvision', pretrained_arch='resnet50'))
optim_wrapper = dict(optimizer=dict(lr=3.108411e-5, weight_decay=1e-4))
