_base_ = ['../cam/resnet50_openimages.py']
# DA-WSOL runs/OpenImages/runTrain_OPEN_RES.sh: 10 epochs, lr 1e-3 x0.1 every 3, wd 1e-4,
# 14x14 maps (large_feature_map False); beta 0.2, u 3.
model = dict(methods=[dict(type='DomainAdaptation', num_classes=100, feat_channels=2048,
                           beta=0.2, universum_weight=3.0)])
optim_wrapper = dict(optimizer=dict(lr=1e-3, weight_decay=1e-4))
work_dir = 'work_dirs/da_wsol/resnet50_openimages'
