# wsolevaluation optimiser (main.py): SGD momentum 0.9, Nesterov; two lr groups
# (feature layers at lr, classifier / new layers at 10x lr; see WSOLOptimWrapperConstructor).
# Leaves set the tuned lr; step decay x0.1 every `lr_decay_frequency` epochs.
optim_wrapper = dict(
    constructor='WSOLOptimWrapperConstructor',
    optimizer=dict(type='SGD', lr=0.01, momentum=0.9, nesterov=True, weight_decay=5e-4),
    paramwise_cfg=dict(classifier_lr_mult=10, rule='wsolevaluation'),
)
val_cfg = dict(type='ValLoop')
test_cfg = dict(type='TestLoop')
auto_scale_lr = dict(base_batch_size=32, enable=False)
