_base_ = ['./wsolevaluation_sgd.py']
# CUB: 50 epochs, lr x0.1 before 1-based epochs 15, 30, 45 (= after 14, 29, 44 epochs).
param_scheduler = dict(type='MultiStepLR', by_epoch=True, milestones=[14, 29, 44], gamma=0.1)
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=50, val_interval=1)
