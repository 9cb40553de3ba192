#!/usr/bin/env bash
# Regenerate the figures of docs/visualization.md from the quickstart run
# (bash tools/quickstart.sh first): one CAM figure, one size-bin gallery, one curve plot.
set -euo pipefail
cd "$(dirname "$0")/../.."
CONFIG=configs/cam/resnet18_synthetic.py
WORK_DIR=${WORK_DIR:-work_dirs/resnet18_synthetic}
OUT=docs/figures
CKPT="$(cat "$WORK_DIR/last_checkpoint")"
mkdir -p "$OUT"
python tools/test.py "$CONFIG" "$CKPT" --work-dir "$WORK_DIR" --out "$WORK_DIR/test_results.pkl" \
    --show-dir doc_cams --show-max 4
RUN="$(ls -td "$WORK_DIR"/*/doc_cams | head -n1)"
cp "$(ls "$RUN"/*.png | head -n1)" "$OUT/cam_figure.png"
IMAGE="data/synthetic/images/$(sed -n 4p data/synthetic/metadata/test/image_ids.txt)"
python tools/visualization/vis_cam.py "$IMAGE" "$CONFIG" "$CKPT" --topk 3 \
    --out "$OUT/cam_topk.png"
python tools/analysis_tools/analyze_results.py "$CONFIG" "$WORK_DIR/test_results.pkl" \
    --out-dir "$WORK_DIR/analysis" --topk 3
# the gallery is many photo-like thumbnails: JPEG keeps it a few hundred kB
python -c "import mmcv, sys; mmcv.imwrite(mmcv.imread(sys.argv[1]), sys.argv[2], \
[int(__import__('cv2').IMWRITE_JPEG_QUALITY), 88])" "$WORK_DIR/analysis/gallery.png" \
    "$OUT/size_gallery.jpg"
cp "$WORK_DIR/analysis/iou_vs_size.png" "$OUT/iou_vs_size.png"
python tools/analysis_tools/analyze_logs.py plot_curve "$WORK_DIR" \
    --keys loss maxboxaccv2/mean cls/top1 --title resnet18_synthetic --out "$OUT/curves.png"
