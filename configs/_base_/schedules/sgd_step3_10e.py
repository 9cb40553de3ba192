_base_ = ['./wsolevaluation_sgd.py']
# ImageNet / OpenImages: 10 epochs, lr x0.1 before 1-based epochs 3, 6, 9 (= after 2, 5, 8).
param_scheduler = dict(type='MultiStepLR', by_epoch=True, milestones=[2, 5, 8], gamma=0.1)
train_cfg = dict(type='EpochBasedTrainLoop', max_epochs=10, val_interval=1)
