_base_ = ['../cam/inception_v3_openimages.py']
# DA-WSOL runs/OpenImages/runTrain_OPEN_INC.sh: 10 epochs, lr 1e-3 x0.1 every 3, wd 5e-4,
# 28x28 maps. beta / u per dataset as the spec (upstream script: 0.1 / 0.5).
model = dict(methods=[dict(type='DomainAdaptation', num_classes=100, feat_channels=1024,
                           beta=0.2, universum_weight=3.0)])
optim_wrapper = dict(optimizer=dict(lr=1e-3, weight_decay=5e-4))
work_dir = 'work_dirs/da_wsol/inception_v3_openimages'
