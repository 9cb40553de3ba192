# deit_s_cub.py with the wsolevaluation CUB layout (data/README.md): `val` = CUBV2
# (train-fullsup) selects the checkpoint, `test` = the CUB test set is reported.
_base_ = ['./deit_s_cub.py']
notes = ''
train_dataloader = dict(dataset=dict(native=False, data_root='data'))
val_dataloader = dict(dataset=dict(native=False, data_root='data', split='val'))
test_dataloader = dict(dataset=dict(native=False, data_root='data'))
