default_scope = 'wsol_mm'

default_hooks = dict(
    timer=dict(type='IterTimerHook'),
    logger=dict(type='LoggerHook', interval=20),
    param_scheduler=dict(type='ParamSchedulerHook'),
    # atomic_local: a killed run never leaves a truncated checkpoint behind.
    checkpoint=dict(type='CheckpointHook', interval=1, max_keep_ckpts=2,
                    save_best='maxboxaccv2/mean', rule='greater',
                    backend_args=dict(backend='atomic_local')),
    sampler_seed=dict(type='DistSamplerSeedHook'),
    # DDP: average BatchNorm running statistics (and other buffers) over the ranks after each
    # epoch, so every rank evaluates, and rank 0 saves, the same model.
    sync_buffers=dict(type='SyncBuffersHook'),
    # CAM figures of val/test images; tools/test.py --show-dir [--interval N] [--show-max M]
    # switches it on (docs/visualization.md).
    visualization=dict(type='CAMVisualizationHook', enable=False),
    progress_bar=dict(type='ProgressBarHook'),
    # Stop at the first NaN/Inf loss term, before a checkpoint stores it (`enable=False`: off).
    non_finite_loss=dict(type='NonFiniteLossHook'),
    # Seed augmentation per (seed, epoch, sample) and the model per iteration: a resumed run
    # equals an uninterrupted one bitwise (docs/reliability.md).
    exact_resume=dict(type='ExactResumeHook'),
)
custom_hooks = [dict(type='ClassNumCheckHook')]

env_cfg = dict(
    cudnn_benchmark=False,
    mp_cfg=dict(mp_start_method='fork', opencv_num_threads=0),
    dist_cfg=dict(backend='nccl'),
    # CPU runs only; on in transformer_runtime.py (the DeiT methods) and crop/resnet50_cub.py,
    # elsewhere opt-in (--cfg-options env_cfg.cpu_malloc.enable=True): keep freed
    # activation memory in the process instead of faulting it in again every step (glibc).
    # CNN classifier steps 1.02-1.06x; crop consistency on AMD Zen 4 1.07x (ResNet50, +1.5-3.3 %
    # peak memory), 1.04x (VGG16, +11 %), 0.94x (InceptionV3); 1.05-1.22x on a Xeon with -1 to
    # +15 % (docs/speed.md)
    cpu_malloc=dict(enable=False, mmap_threshold=32 * 1024**2, trim_threshold=-1,
                    top_pad=64 * 1024**2),
)

# Add dict(type='TensorboardVisBackend') for TensorBoard (pip install -r
# requirements/optional.txt): scalars, and CAM figures when the hook has no out_dir.
vis_backends = [dict(type='LocalVisBackend')]
visualizer = dict(type='WSOLVisualizer', vis_backends=vis_backends)

log_processor = dict(by_epoch=True)
log_level = 'INFO'
load_from = None
resume = False
randomness = dict(seed=0, deterministic=False)
