_base_ = ['../cam/resnet50_cub.py']
# DA-WSOL runs/CUB/runTrain_CUB_RES.sh: 50 epochs, lr 1e-3 x0.1 before 1-based epoch 30,
# wd 1e-4, batch 32, 28x28 maps; beta / u per dataset (spec 7.1).
model = dict(methods=[dict(type='DomainAdaptation', num_classes=200, feat_channels=2048,
                           beta=0.3, universum_weight=2.0)])
optim_wrapper = dict(optimizer=dict(lr=1e-3, weight_decay=1e-4))
param_scheduler = dict(milestones=[29])
work_dir = 'work_dirs/da_wsol/resnet50_cub'
