#!/usr/bin/env bash
# Install wsol_mm into .venv, generate SyntheticWSOL if missing, train the CAM quickstart model,
# evaluate it on the test split (metrics table + CAM overlays) and print the trivial baselines.
set -euo pipefail
cd "$(dirname "$0")/.."
CONFIG=configs/cam/resnet18_synthetic.py
WORK_DIR=work_dirs/resnet18_synthetic
python3 -m venv .venv
. .venv/bin/activate
pip install -q -c requirements/constraints.txt -r requirements/runtime.txt -e .
python tools/train.py "$CONFIG" --work-dir "$WORK_DIR"
python tools/test.py "$CONFIG" "$(cat "$WORK_DIR/last_checkpoint")" --work-dir "$WORK_DIR" \
    --show-dir cam_overlays --metrics-json "$WORK_DIR/test_metrics.json"
python tools/analysis_tools/box_baselines.py "$CONFIG" --model-metrics "$WORK_DIR/test_metrics.json"
