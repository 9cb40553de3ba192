# The default runtime, with glibc's freed memory kept in the process on CPU runs
# (env_cfg.cpu_malloc: 32 MiB mmap threshold, no trimming, 64 MiB top pad). The DeiT/ViT
# steps otherwise fault part of their activations in again every step; on the Zen 4 guest
# (benchmarks/cpu_malloc.py, median step) TS-CAM and the plain DeiT-S step ran 1.06x with
# the same peak memory (-1.4 % / +1.5 %). The CNN configs keep it off (crop consistency's
# peak memory rose by 5-11 %), except crop consistency ResNet50 on CUB, which sets it itself
# (docs/speed.md). GPU runs: not applied.
_base_ = './default_runtime.py'

env_cfg = dict(cpu_malloc=dict(enable=True))
