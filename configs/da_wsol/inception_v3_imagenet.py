_base_ = ['../cam/inception_v3_imagenet.py']
# DA-WSOL runs/ILSVRC/runTrain_ILSVRC_INC.sh: 10 epochs, lr 1e-3 x0.1 every 3, wd 5e-4,
# 28x28 maps. beta / u per dataset as the spec (upstream script: 0.1 / 0.3).
# Stage 1 of configs/crop/inception_v3_imagenet_da.py (loads epoch_10).
model = dict(methods=[dict(type='DomainAdaptation', num_classes=1000, feat_channels=1024,
                           beta=0.3, universum_weight=3.0)])
optim_wrapper = dict(optimizer=dict(lr=1e-3, weight_decay=5e-4))
work_dir = 'work_dirs/da_wsol/inception_v3_imagenet'
