_base_ = ['./wsolevaluation_224.py']
# OpenImages30k train (29,819) / val (2,500) / test (5,000), instance + ignore masks.
train_dataloader = dict(dataset=dict(type='OpenImagesDataset'))
val_dataloader = dict(dataset=dict(type='OpenImagesDataset'))
test_dataloader = dict(dataset=dict(type='OpenImagesDataset'))

val_evaluator = [dict(type='ClsAccuracyMetric'), dict(type='PxAPMetric')]
test_evaluator = val_evaluator
