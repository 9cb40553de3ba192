#!/usr/bin/env bash
# The GPU measurements of issue 14 in one run (docs/speed_benchmarks.md "On a GPU"):
#   1. benchmarks/train_step.py on the GPU, fp32 and bf16 (every method, BATCH images a step),
#      with peak GPU memory and host syncs per step, one process per backbone family (a
#      family that runs out of time does not take the others' tables with it);
#   2. the quick-start CAM config trained and tested on the GPU in fp32 and with --amp (bf16);
#   3. the same with --amp through tools/dist_train.sh (DDP over NCCL, one process per GPU);
#   4. the tests that only run on a GPU (mixed precision, mmengine's AmpOptimWrapper).
# Each part has its own time limit and log, so one failure does not hide the others; the
# limits add up to 9 minutes (a part usually takes half of its limit).
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

if ! command -v python >/dev/null; then  # images with only python3 (tools call `python`)
    mkdir -p "$WORK/bin" && printf '#!/bin/sh\nexec python3 "$@"\n' >"$WORK/bin/python"
    chmod +x "$WORK/bin/python" && export PATH="$WORK/bin:$PATH"
fi
# Every import the parts need, one at a time and under a time limit: a machine where one of
# them hangs stops here with its name instead of spending every part's limit.
# (wsol_mm.compat first: its shim must run before torchvision imports, see its docstring)
for module in torch mmengine wsol_mm torchvision timm mmcv numba pycocotools; do
    imports=$(case $module in torch | mmengine | wsol_mm) echo "$module" ;;
              *) echo "wsol_mm.compat, $module" ;; esac)
    if ! timeout 120 python -c "import $imports" >"$OUT/import_$module.log" 2>&1; then
        echo "gpu_checks.sh: error: 'import $module' failed or took over 120 s" \
             "($OUT/import_$module.log); install it or carry it, then rerun" >&2
        cat "$OUT/import_$module.log" >&2
        exit 1
    fi
done
rm -f "$OUT"/import_*.log
{ nvidia-smi --query-gpu=name,memory.total,driver_version --format=csv,noheader
  python -c 'import torch, mmengine; print("torch", torch.__version__, "cuda", torch.version.cuda,
"cudnn", torch.backends.cudnn.version(), "mmengine", mmengine.__version__)'
} 2>&1 | tee "$OUT/env.txt"

# family name, time limit (s), methods
for spec in "deit_s 100 tscam scm lcamd" "resnet50 80 cam_resnet50 crop_resnet50" \
            "vgg16_inception_v3 90 crop_vgg16 crop_inception_v3"; do
    read -r family limit methods <<<"$spec"
    # --shared-process: one start-up instead of one per variant (10 per family would not
    # fit the limits); GPU memory comes from torch's caching allocator, not glibc's heap
    part "train_step_$family" "$limit" python benchmarks/train_step.py --device cuda \
        --batch "$BATCH" --warmup 3 --steps 10 --sync-sites --shared-process --methods $methods
    grep -E "^\| |^# (GPU|host syncs)" "$OUT/train_step_$family.log"
done

for mode in fp32 amp; do  # the first run also compiles the evaluator's kernels
    work="$WORK/$mode"
    flag=$([ "$mode" = amp ] && echo --amp)
    limit=$([ "$mode" = amp ] && echo 55 || echo 75)
    part "train_$mode" "$limit" python tools/train.py "$CONFIG" --work-dir "$work" $flag --test
    grep -E "^(maxboxaccv2/mean|cls/top1) |Error|error" "$OUT/train_$mode.log" | tail -n 6
    grep -E "Epoch\(train\)" "$OUT/train_$mode.log" | tail -n 1 \
        | grep -oE "time: [0-9.]+|loss: [0-9.]+"
done

part ddp_amp 55 bash tools/dist_train.sh "$CONFIG" "$NGPUS" \
    --work-dir "$WORK/ddp" --amp --test
grep -m1 "launcher" "$OUT/ddp_amp.log"  # processes, launcher
grep -E "^(maxboxaccv2/mean|cls/top1) |Error|error" "$OUT/ddp_amp.log" | tail -n 6

part gpu_tests 75 python -m pytest -q -p no:cacheprovider -n 4 tests/test_tools/test_amp_train.py \
    tests/test_tools/test_reliability_tools.py::test_nan_guard_stops_an_amp_run \
    tests/test_engine/test_optimizers/test_autocast_optim_wrapper.py
tail -n 15 "$OUT/gpu_tests.log"
