"""The reference side of ``benchmarks/eval_speed.py``'s whole-process rows.

A literal wsolevaluation ``evaluate_wsol`` run as its own process: read the split
metadata line by line, rescale the boxes with ``resize_bbox``'s arithmetic, load
every ``<image_id>.npy``, accumulate with the released per-threshold loop
(``wsol_mm/evaluation/functional/literal_protocols.py``, loaded from its file so
that this process imports only numpy and OpenCV, as fast a start as the
reference can have) and print MaxBoxAccV2 or PxAP.

Usage:
    python benchmarks/eval_reference_process.py METADATA_DIR SCOREMAP_ROOT box|mask \
        INTERVAL [MASK_ROOT]
"""
import importlib.util
import os.path as osp
import sys

import cv2
import numpy as np

_LITERAL = osp.join(osp.dirname(osp.dirname(osp.abspath(__file__))), 'wsol_mm', 'evaluation',
                    'functional', 'literal_protocols.py')


def _literal():
    spec = importlib.util.spec_from_file_location('literal_protocols', _LITERAL)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _lines(path):
    with open(path) as f:
        return [line.strip().split(',') for line in f if line.strip()]


def main(argv) -> float:
    meta, root, kind, interval = argv[0], argv[1], argv[2], float(argv[3])
    literal = _literal()
    thresholds = np.arange(0, 1, interval)
    ids = [row[0] for row in _lines(osp.join(meta, 'image_ids.txt'))]
    items = []
    if kind == 'box':
        sizes = {row[0]: (float(row[1]), float(row[2]))
                 for row in _lines(osp.join(meta, 'image_sizes.txt'))}
        boxes = {}
        for row in _lines(osp.join(meta, 'localization.txt')):
            w, h = sizes[row[0]]
            x0, y0, x1, y1 = map(float, row[1:])
            boxes.setdefault(row[0], []).append(
                (int(x0 * 224 / w), int(y0 * 224 / h), int(x1 * 224 / w), int(y1 * 224 / h)))
        for img_id in ids:
            items.append((np.load(osp.join(root, img_id + '.npy')), np.array(boxes[img_id])))
        counts = literal.literal_box_counts(items, thresholds, (30, 50, 70), True)
        value = float(np.mean((counts * 100. / len(items)).max(1)))
    else:
        masks = {}
        for row in _lines(osp.join(meta, 'localization.txt')):
            masks.setdefault(row[0], []).append(row[1])
        for img_id in ids:
            gt = np.stack([cv2.resize(np.float32(cv2.imread(osp.join(argv[4], p), 0)),
                                      (224, 224), interpolation=cv2.INTER_NEAREST) > 0.5
                           for p in masks[img_id]]).any(0)
            items.append((np.load(osp.join(root, img_id + '.npy')), gt, np.zeros_like(gt)))
        fg, bg = literal.literal_mask_histograms(items, thresholds)
        tp, fp = np.cumsum(fg[::-1]), np.cumsum(bg[::-1])
        precision, recall = tp / np.maximum(tp + fp, 1), tp / tp[-1]
        value = float(100 * (precision[1:] * np.diff(recall))[(tp + fp)[1:] != 0].sum())
    print(f'{value:.4f}')
    return value


if __name__ == '__main__':
    main(sys.argv[1:])
