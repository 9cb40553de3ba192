"""What the released codes' options mean in wsol_mm: the table ``import_config`` follows.

Keep this file in step with the configs: when a config key moves, change its target here.
A target is a dotted wsol_mm key; ``[type=X]`` selects the element of a list
whose ``type`` is ``X`` (``custom_hooks[type=CropConsistencyHook].start_epoch``);
a tuple of targets sets each one. ``@name`` targets are computed in
``config_import.py`` (data roots, per-GPU batch, step schedules). Options whose
target is missing from the chosen base config are reported as ignored.

Sources of the option names and defaults: ``/work/shared/specs/lca_md_tscam.md``
§3 (LCA-MD / TS-CAM / SCM: ``lib/config/default.py``, ``update_config``) and
``crop_consistency.md`` §2.1, §4 (Small Object Matters ``config.py``).
"""

# ---------------------------------------------------------------- LCA-MD / TS-CAM / SCM YAML
# The default tree every YAML is merged into (values of lib/config/default.py).
YAML_DEFAULTS = {
    'BASIC.TIME': '', 'BASIC.GPU_ID': [0], 'BASIC.NUM_WORKERS': 40, 'BASIC.DISP_FREQ': 500,
    'BASIC.SEED': 0, 'BASIC.SAVE_DIR': '', 'BASIC.ROOT_DIR': '', 'BASIC.BACKUP_CODES': True,
    'BASIC.BACKUP_LIST': ['lib', 'tools', 'tools_cls'], 'BASIC.SAVE_ROOT': '',
    'MODEL.ARCH': 'vgg16_cam', 'MODEL.CAM_THR': 0.2, 'MODEL.TOP_K': 1, 'MODEL.LOCALIZER_DIR': '',
    'CUDNN.BENCHMARK': False, 'CUDNN.DETERMINISTIC': True, 'CUDNN.ENABLE': True,
    'DATA.DATASET': '', 'DATA.DATADIR': '', 'DATA.NUM_CLASSES': 20, 'DATA.RESIZE_SIZE': 256,
    'DATA.CROP_SIZE': 224, 'DATA.SCALE_SIZE': 196, 'DATA.IMAGE_MEAN': [0.485, 0.456, 0.406],
    'DATA.IMAGE_STD': [0.229, 0.224, 0.225], 'DATA.SCALE_LENGTH': 15,
    'SOLVER.START_LR': 0.01, 'SOLVER.LR_STEPS': [30], 'SOLVER.LR_FACTOR': 0.1,
    'SOLVER.NUM_EPOCHS': 40, 'SOLVER.WEIGHT_DECAY': 1e-4, 'SOLVER.MUMENTUM': 0.9,
    'TRAIN.BATCH_SIZE': 16, 'TRAIN.ALPHA': 1.0, 'TRAIN.BETA': 1.0,
    'TEST.BATCH_SIZE': 16, 'TEST.CKPT_DIR': '', 'TEST.TEN_CROPS': False, 'TEST.SAVE_CAMS': False,
    'TEST.SAVE_BOXED_IMAGE': False,
}
# Command-line options of tools_cam/train_cam.py that reach the model or optimiser.
YAML_CLI_DEFAULTS = {'--lr': 5e-4, '--weight-decay': 0.05, '--opt-eps': 1e-8, '--opt': 'adamw',
                     '--drop-path': 0.1, '--drop': 0.0, '--momentum': 0.9, '--clip-grad': None}
# Options of train_cam.py's argparse that the released training never reads.
YAML_CLI_UNUSED = (
    '--model', '--input-size', '--model-ema-decay', '--opt-betas', '--sched', '--lr-noise',
    '--lr-noise-pct', '--lr-noise-std', '--warmup-lr', '--min-lr', '--decay-epochs',
    '--warmup-epochs', '--cooldown-epochs', '--patience-epochs', '--decay-rate', '--dr',
    '--color-jitter', '--aa', '--smoothing', '--train-interpolation', '--reprob', '--remode',
    '--recount', '--mixup', '--cutmix', '--cutmix-minmax', '--mixup-prob', '--mixup-switch-prob',
    '--mixup-mode', '--teacher-model', '--teacher-path', '--distillation-type',
    '--distillation-alpha', '--distillation-tau', '--finetune', '--data-path', '--data-set',
    '--inat-category', '--output_dir', '--device', '--seed', '--start_epoch', '--resume')
YAML_CLI_FLAGS = ('--model-ema', '--no-model-ema', '--model-ema-force-cpu', '--pin-mem',
                  '--no-pin-mem', '--repeated-aug', '--no-repeated-aug', '--resplit')

# (option, target, the released default applies when the option is not given)
YAML_MAP = (
    ('DATA.DATADIR', '@yaml_data_root', False),
    ('TRAIN.BATCH_SIZE', '@train_batch', True),
    ('TEST.BATCH_SIZE', '@test_batch', True),
    ('SOLVER.NUM_EPOCHS', 'train_cfg.max_epochs', True),
    ('SOLVER.LR_STEPS', '@yaml_steps', True),
    ('SOLVER.LR_FACTOR', '@yaml_steps', True),
    ('BASIC.SEED', 'randomness.seed', False),
    ('BASIC.NUM_WORKERS', '@num_workers', False),
    ('BASIC.DISP_FREQ', 'default_hooks.logger.interval', False),
    ('CUDNN.BENCHMARK', 'env_cfg.cudnn_benchmark', False),
    ('CUDNN.DETERMINISTIC', 'randomness.deterministic', False),
    ('MODEL.CAM_THR', ('val_evaluator[type=FixedThresholdLocMetric].cam_thr',
                       'test_evaluator[type=FixedThresholdLocMetric].cam_thr'), True),
    ('--lr', 'optim_wrapper.optimizer.lr', True),
    ('--weight-decay', 'optim_wrapper.optimizer.weight_decay', True),
    ('--opt-eps', 'optim_wrapper.optimizer.eps', True),
    ('--drop-path', 'model.backbone.drop_path_rate', True),
)
YAML_IGNORED = {
    'MODEL.ARCH': 'selects the base config',
    'DATA.DATASET': 'selects the base config',
    'DATA.NUM_CLASSES': 'given by the dataset of the base config',
    'SOLVER.START_LR': 'not read by the released training (the optimiser takes --lr)',
    'SOLVER.WEIGHT_DECAY': 'not read by the released training (AdamW takes --weight-decay)',
    'SOLVER.MUMENTUM': 'not read by the released training (AdamW)',
    'TRAIN.ALPHA': 'not read by the released code', 'TRAIN.BETA': 'not read by the released code',
    'MODEL.TOP_K': 'not read by the released code',
    'MODEL.LOCALIZER_DIR': 'not read by the released code',
    'DATA.SCALE_SIZE': 'not read by the released code',
    'DATA.SCALE_LENGTH': 'not read by the released code',
    'TEST.CKPT_DIR': 'not read by the released code',
    'TEST.SAVE_CAMS': 'not read by the released code',
    'BASIC.TIME': 'launch time stamp of the output folder',
    'BASIC.GPU_ID': 'choose devices with CUDA_VISIBLE_DEVICES / tools/dist_train.sh',
    'BASIC.SAVE_DIR': 'outputs go to --work-dir', 'BASIC.ROOT_DIR': 'outputs go to --work-dir',
    'BASIC.SAVE_ROOT': 'outputs go to --work-dir',
    'BASIC.BACKUP_CODES': 'wsol_mm saves the resolved config in the work dir instead',
    'BASIC.BACKUP_LIST': 'wsol_mm saves the resolved config in the work dir instead',
    'CUDNN.ENABLE': 'cuDNN stays enabled',
    'TEST.TEN_CROPS': 'ten-crop testing is not implemented (only False is reproduced)',
    'TEST.SAVE_BOXED_IMAGE': 'use tools/test.py --show-dir DIR',
    'DATA.RESIZE_SIZE': 'the base pipeline keeps its sizes (edit train_pipeline to change)',
    'DATA.CROP_SIZE': 'the base pipeline keeps its sizes (edit train_pipeline to change)',
    'DATA.IMAGE_MEAN': "normalisation is the model's data_preprocessor (ImageNet mean/std)",
    'DATA.IMAGE_STD': "normalisation is the model's data_preprocessor (ImageNet mean/std)",
    '--opt': 'the base config\'s optimiser type is kept (the released runs use adamw)',
    '--drop': 'dropout rate of the released model is fixed (0)',
    '--momentum': 'not used by AdamW',
    '--clip-grad': 'not used by the released training loop',
}
# MODEL.ARCH -> (config folder, backbone part of the file name)
ARCH_TABLE = {
    'deit_lca_md_small_patch16_224': ('lca_md', 'deit_s'),
    'deit_lca_md_base_patch16_224': ('lca_md', 'deit_b'),
    'vit_lca_md_small_patch16_224': ('lca_md', 'vit_s'),
    'conformer_lca_md_small_patch16': ('lca_md', 'conformer_s'),
    'deit_scm_small_patch16_224': ('scm', 'deit_s'),
    'deit_tscam_tiny_patch16_224': ('tscam', 'deit_t'),
    'deit_tscam_small_patch16_224': ('tscam', 'deit_s'),
    'deit_tscam_base_patch16_224': ('tscam', 'deit_b'),
    'conformer_tscam_small_patch16': ('tscam', 'conformer_s'),
    'conformer_ts_cam_small_patch16': ('tscam', 'conformer_s'),  # the released misspelling
}
YAML_DATASETS = {'CUB': 'cub', 'ImageNet': 'imagenet', 'ILSVRC': 'imagenet'}

# ---------------------------------------------------------------- Small Object Matters main.py
# Every argument of config.py with its default (str2bool flags are booleans).
SOM_DEFAULTS = {
    'seed': None, 'experiment_name': 'test_case', 'override_cache': False, 'workers': 4,
    'dataset_name': 'CUB', 'data_root': 'dataset/', 'metadata_root': 'metadata/',
    'mask_root': 'dataset/', 'proxy_training_set': False, 'num_val_sample_per_class': 0,
    'architecture': 'resnet18', 'epochs': 40, 'pretrained': True, 'cam_curve_interval': 0.001,
    'resize_size': 256, 'crop_size': 224, 'multi_contour_eval': True, 'multi_iou_eval': True,
    'iou_threshold_list': [30, 50, 70], 'eval_checkpoint_type': 'last', 'box_v2_metric': True,
    'batch_size': 64, 'lr': 0.01, 'lr_decay_frequency': 30, 'lr_classifier_ratio': 10.0,
    'momentum': 0.9, 'weight_decay': 1e-4, 'large_feature_map': False, 'wsol_method': 'base',
    'has_grid_size': 4, 'has_drop_rate': 0.5, 'acol_threshold': 0.7, 'spg_threshold_1h': 0.7,
    'spg_threshold_1l': 0.01, 'spg_threshold_2h': 0.5, 'spg_threshold_2l': 0.05,
    'spg_threshold_3h': 0.7, 'spg_threshold_3l': 0.1, 'adl_drop_rate': 0.75,
    'adl_threshold': 0.9, 'cutmix_beta': 1.0, 'cutmix_prob': 1.0, 'checkpoint_path': None,
    'eval_size_ratio': False,
    'box_size_threshold_list': [0, 1, 4, 9, 16, 25, 36, 49, 64, 81, 100],
    'eval_only_localization': False, 'eval_max_size': False, 'original_feature_map': False,
    'crop_threshold': 0.15, 'loss_ratio': 0.5, 'loss_pos': 0.5, 'loss_neg': 0.5,
    'crop_ratio': 0.1, 'eval_on_val_and_test': True, 'compare_box_size': False,
    'large_cam': False, 'train_only_classifier': False, 'attention_cam': False,
    'use_inception_c': False, 'crop_start_epoch': 0, 'crop': False,
    'other_method_loss_ratio': 1.0, 'crop_method_loss_ratio': 1.0, 'top1_loc': False,
    'crop_with_norm': False, 'norm_method': 'minmax', 'percentile': 0.6, 'drop_threshold': 0.7,
    'drop_prob': 1.0,
}
# Where the crop-consistency hyper-parameters live: ``model.X`` of the CropConsistency
# wrapper. ``@som_norm`` sets the localizer's normaliser (``model.test_cfg.norm``).
CROP_KEYS = {
    'crop_threshold': 'model.crop_threshold',
    'crop_ratio': 'model.crop_ratio',
    'loss_pos': 'model.loss_pos',
    'loss_neg': 'model.loss_neg',
    'loss_ratio': 'model.loss_ratio',
    'attention_cam': 'model.class_agnostic',
    'crop_with_norm': 'model.crop_with_norm',
    'other_method_loss_ratio':
        'model.other_method_loss_ratio',
    'crop_method_loss_ratio':
        'model.crop_method_loss_ratio',
    'norm_method': '@som_norm',
    'percentile': '@som_norm',
    'crop_start_epoch': 'custom_hooks[type=CropConsistencyHook].start_epoch',
}
# The wsolevaluation methods' options (configs/has|cutmix|adl|acol|spg); a tuple sets each
# target the base has (InceptionV3-ADL also has ADL in its head).
_HAS = 'model.data_preprocessor.batch_augments[type=HideAndSeek]'
_CUTMIX = 'model.data_preprocessor.batch_augments[type=CutMix]'
_SPG = 'model.methods[type=SPG]'
METHOD_KEYS = {
    'has_grid_size': f'{_HAS}.grid_size',
    'has_drop_rate': f'{_HAS}.drop_rate',
    'cutmix_beta': f'{_CUTMIX}.beta',
    'cutmix_prob': f'{_CUTMIX}.prob',
    'adl_drop_rate': ('model.backbone.adl.drop_rate', 'model.head.adl.drop_rate'),
    'adl_threshold': ('model.backbone.adl.drop_threshold', 'model.head.adl.drop_threshold'),
    'acol_threshold': 'model.head.drop_threshold',
    **{f'spg_threshold_{level}': f'{_SPG}.threshold_{level}'
       for level in ('1h', '1l', '2h', '2l', '3h', '3l')},
}
# --norm_method -> registered normaliser (model.test_cfg.norm.type)
NORM_TYPES = {'minmax': 'MinMax', 'max': 'Max', 'pas': 'PaS', 'ivr': 'IVR'}
SOM_MAP = tuple((opt, key, True) for opt, key in CROP_KEYS.items()) + (
    ('data_root', '@som_data_root', False),
    ('metadata_root', '@som_data_root', False),
    ('mask_root', '@som_data_root', False),
    ('batch_size', '@train_batch', True),
    ('lr', 'optim_wrapper.optimizer.lr', True),
    ('weight_decay', 'optim_wrapper.optimizer.weight_decay', True),
    ('momentum', 'optim_wrapper.optimizer.momentum', True),
    ('epochs', 'train_cfg.max_epochs', True),
    ('lr_decay_frequency', '@som_steps', True),
    ('lr_classifier_ratio', 'optim_wrapper.paramwise_cfg.classifier_lr_mult', True),
    ('train_only_classifier', '@som_lr_groups', True),
    ('large_feature_map', 'model.backbone.large_feature_map', True),
    ('proxy_training_set', 'train_dataloader.dataset.proxy', True),
    ('drop_threshold', 'model.methods[type=BridgingGap].drop_threshold', True),
    ('drop_prob', 'model.methods[type=BridgingGap].drop_prob', True),
) + tuple((opt, key, True) for opt, key in METHOD_KEYS.items()) + (
    ('workers', '@num_workers', False),
    ('seed', 'randomness.seed', False),
    ('cam_curve_interval', ('val_evaluator[type=MaxBoxAccV2Metric].cam_curve_interval',
                            'test_evaluator[type=MaxBoxAccV2Metric].cam_curve_interval'),
     False),
)
_EVAL = 'wsol_mm reports MaxBoxAcc (v1) and MaxBoxAccV2 at IoU 30/50/70 (docs/evaluation.md)'
SOM_IGNORED = {
    'architecture': 'selects the base config', 'dataset_name': 'selects the base config',
    'wsol_method': 'selects the base config', 'crop': 'selects the base config',
    'experiment_name': 'outputs go to --work-dir', 'override_cache': 'outputs go to --work-dir',
    'num_val_sample_per_class': 'wsol_mm validates on the whole val split',
    'pretrained': 'the configs load ImageNet weights; set model.backbone.pretrained=None to '
                  'train from scratch',
    'resize_size': 'the base pipeline keeps its sizes (edit train_pipeline to change)',
    'crop_size': 'the base pipeline keeps its sizes (edit train_pipeline to change)',
    'multi_contour_eval': _EVAL, 'multi_iou_eval': _EVAL, 'box_v2_metric': _EVAL,
    'iou_threshold_list': _EVAL,
    'eval_checkpoint_type': 'pass the best_*.pth (save_best) or the last checkpoint to '
                            'tools/test.py',
    'eval_on_val_and_test': 'tools/test.py evaluates the test split; val runs while training',
    'eval_size_ratio': 'size bins are MaxBoxAccV2Metric(size_bins=True)',
    'box_size_threshold_list': 'size bins are MaxBoxAccV2Metric(size_bins=True)',
    'checkpoint_path': 'a released checkpoint: convert it with tools/model_converters/ and pass '
                       'it to tools/test.py or load_from',
    'eval_only_localization': 'evaluation switch of the released code, not reproduced',
    'eval_max_size': 'evaluation switch of the released code, not reproduced',
    'compare_box_size': 'analysis switch of the released code, not reproduced',
    'top1_loc': 'evaluation switch of the released code, not reproduced',
    'large_cam': 'switch of the released code, not reproduced',
    'original_feature_map': 'switch of the released code, not reproduced',
    'use_inception_c': 'switch of the released code, not reproduced',
}
SOM_ARCHS = {'resnet50': 'resnet50', 'vgg16': 'vgg16', 'inception_v3': 'inception_v3'}
SOM_DATASETS = {'CUB': 'cub', 'ILSVRC': 'imagenet', 'OpenImages': 'openimages'}
# wsol_method -> config folder (crop variants: see config_import.choose_som_base)
SOM_METHODS = {'base': 'cam', 'cam': 'cam', 'crop': 'crop', 'da': 'da_wsol',
               'brid': 'bridging_gap', 'has': 'has', 'cutmix': 'cutmix', 'adl': 'adl',
               'acol': 'acol', 'spg': 'spg'}
# `--wsol_method M --crop True` -> configs/crop/<arch>_<dataset><suffix>.py (where it exists;
# Brid: the two-stage fine-tuning of the released scripts, the others: method + crop)
SOM_CROP_SUFFIXES = {'brid': '_brid', 'has': '_has', 'cutmix': '_cutmix', 'adl': '_adl',
                     'acol': '_acol', 'spg': '_spg'}
