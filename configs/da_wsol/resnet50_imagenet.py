_base_ = ['../cam/resnet50_imagenet.py']
# DA-WSOL runs/ILSVRC/runTrain_ILSVRC_RES.sh: 10 epochs, lr 1e-5 x0.1 every 3, wd 1e-4,
# 28x28 maps; beta 0.3, u 3. Stage 1 of configs/crop/resnet50_imagenet_da.py (loads epoch_10).
model = dict(methods=[dict(type='DomainAdaptation', num_classes=1000, feat_channels=2048,
                           beta=0.3, universum_weight=3.0)])
optim_wrapper = dict(optimizer=dict(lr=1e-5, weight_decay=1e-4))
work_dir = 'work_dirs/da_wsol/resnet50_imagenet'
