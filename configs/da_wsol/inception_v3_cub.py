_base_ = ['../cam/inception_v3_cub.py']
# DA-WSOL runs/CUB/runTrain_CUB_INC.sh: 50 epochs, lr 2e-3 x0.1 before 1-based epoch 30,
# wd 5e-4, 28x28 maps. beta / u per dataset as the spec (the upstream script: 1.4 / 4).
# Pixel features: the 1024-channel map before the class-map conv.
model = dict(methods=[dict(type='DomainAdaptation', num_classes=200, feat_channels=1024,
                           beta=0.3, universum_weight=2.0)])
optim_wrapper = dict(optimizer=dict(lr=2e-3, weight_decay=5e-4))
param_scheduler = dict(milestones=[29])
work_dir = 'work_dirs/da_wsol/inception_v3_cub'
