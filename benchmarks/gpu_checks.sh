#!/usr/bin/env bash
# The GPU measurements of issue 14 in one run (docs/speed.md "On a GPU"):
#   1. benchmarks/train_step.py on the GPU, fp32 and bf16 (every method, BATCH images a step),
#      with peak GPU memory and host syncs per step;
#   2. the quick-start CAM config trained and tested on the GPU in fp32 and with --amp (bf16);
#   3. the same with --amp through tools/dist_train.sh (DDP over NCCL, one process per GPU).
# Each part has its own time limit and log, so one failure does not hide the others.
# Usage: bash benchmarks/gpu_checks.sh OUT_DIR [BATCH] [NGPUS]
set -uo pipefail
OUT=$(realpath -m "${1:?usage: gpu_checks.sh OUT_DIR [BATCH] [NGPUS]}")
BATCH=${2:-64}
NGPUS=${3:-1}
cd "$(dirname "$0")/.."
mkdir -p "$OUT"
CONFIG=configs/cam/resnet18_synthetic.py
WORK=$(mktemp -d)  # work dirs (checkpoints) stay out of OUT_DIR
export PORT=${PORT:-29517}

part() {  # part NAME SECONDS COMMAND...: run one part, log it, report its exit status
    local name=$1 limit=$2
    shift 2
    local start=$SECONDS
    echo "== $name: $*"
    timeout "$limit" "$@" >"$OUT/$name.log" 2>&1
    local rc=$?
    echo "== $name: exit $rc after $((SECONDS - start)) s (log $OUT/$name.log)"
    return 0
}

{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  python -c 'import torch, mmengine; print("torch", torch.__version__, "cuda", torch.version.cuda,
"cudnn", torch.backends.cudnn.version(), "mmengine", mmengine.__version__)'
} 2>&1 | tee "$OUT/env.txt"

part train_step 330 python benchmarks/train_step.py --device cuda --batch "$BATCH" \
    --warmup 3 --steps 10 --sync-sites
tail -n 30 "$OUT/train_step.log"

for mode in fp32 amp; do
    work="$WORK/$mode"
    flag=$([ "$mode" = amp ] && echo --amp)
    part "train_$mode" 150 python tools/train.py "$CONFIG" --work-dir "$work" $flag --test
    grep -E "loss|maxboxaccv2/mean|cls/top1|Error|error" "$OUT/train_$mode.log" | tail -n 14
done

part ddp_amp 150 bash tools/dist_train.sh "$CONFIG" "$NGPUS" \
    --work-dir "$WORK/ddp" --amp --test
grep -m1 "launcher" "$OUT/ddp_amp.log"  # processes, launcher
grep -E "^(maxboxaccv2/mean|cls/top1) |Error|error" "$OUT/ddp_amp.log" | tail -n 6
