"""One prediction, ready to draw, in original-image coordinates."""
from dataclasses import dataclass, field
from typing import Any, Mapping, Optional, Sequence

import numpy as np

from wsol_mm.evaluation.functional import box_iou, contour_boxes, quantize_cam, threshold_cutoffs
from wsol_mm.utils.frames import boxes_to_original, gt_boxes_original, map_to_original
from wsol_mm.utils.wsol_results_io import decode_maps


def _numpy(value: Any) -> Optional[np.ndarray]:
    if value is None:
        return None
    if hasattr(value, 'detach'):
        value = value.detach().cpu().numpy()
    return np.asarray(value)


def _get(sample: Any, key: str) -> Any:
    """A field of a data sample or of a dumped results record (a plain dict)."""
    return sample.get(key) if hasattr(sample, 'get') else getattr(sample, key, None)


def _meta(sample: Any) -> Mapping:
    return sample.metainfo if hasattr(sample, 'metainfo') else sample


def cam_boxes(cam: np.ndarray, cam_thr: float, multi_contour: bool = False) -> np.ndarray:
    """Boxes of ``cam > cam_thr`` with the evaluator's quantisation and contour rules.

    Args:
        cam (np.ndarray): float map in [0, 1] or the uint8 map of a results file.
        cam_thr (float): CAM threshold (fraction of the map's maximum).
        multi_contour (bool): every contour's box (MaxBoxAccV2) or the largest
            one (v1, what a user gets as "the" box). Defaults to False.

    Returns:
        np.ndarray: ``(K, 4)`` int64 inclusive ``xyxy`` boxes in the map's frame.
    """
    u = quantize_cam(cam)
    cutoff = int(threshold_cutoffs([cam_thr], int(u.max()))[0])
    return contour_boxes(np.ascontiguousarray(u), cutoff, multi_contour)


@dataclass
class PredictionView:
    """What a CAM figure shows, mapped back to the original image.

    Attributes:
        cam (np.ndarray): ``(H0, W0)`` float map in [0, 1] of class ``cam_label``.
        gt_boxes (np.ndarray): ``(N, 4)`` GT boxes (original pixels).
        pred_boxes (np.ndarray): ``(K, 4)`` boxes of ``cam > cam_thr`` (original pixels).
        iou (float, optional): best IoU of the predicted boxes with a GT box,
            measured in the network-input frame as the metrics do.
        cam_thr (float): the threshold of ``pred_boxes``.
        cam_label (int, optional): class of ``cam``; gt_label / pred_label (int, optional).
        scores (np.ndarray, optional): ``(C,)`` class scores.
        topk_cams (np.ndarray): ``(K, H0, W0)`` maps of ``topk_labels``.
        input_cam (np.ndarray): ``cam`` at the network input (``img_shape``).
    """

    cam: np.ndarray
    gt_boxes: np.ndarray
    pred_boxes: np.ndarray
    iou: Optional[float]
    cam_thr: float
    cam_label: Optional[int] = None
    gt_label: Optional[int] = None
    pred_label: Optional[int] = None
    scores: Optional[np.ndarray] = None
    topk_cams: np.ndarray = field(default_factory=lambda: np.zeros((0, 1, 1), np.float32))
    topk_labels: Sequence[int] = ()
    input_cam: Optional[np.ndarray] = None

    @classmethod
    def from_sample(cls, sample: Any, cam_thr: float = 0.2, multi_contour: bool = False,
                    topk: int = 0) -> 'PredictionView':
        """Build the view of a predicted :class:`WSOLDataSample` or a results record.

        Args:
            sample: a sample with ``pred_cam`` (and metainfo), or a record of
                ``tools/test.py --out``.
            cam_thr (float): threshold of the predicted boxes. Defaults to 0.2.
            multi_contour (bool): boxes of every contour (MaxBoxAccV2): with GT
                boxes only the best-matching one is kept. Defaults to False.
            topk (int): also map the first ``topk`` of ``pred_cams``. Defaults to 0.
        """
        meta = _meta(sample)
        raw = _numpy(_get(sample, 'pred_cam'))
        if raw is None:
            raise KeyError('the sample has no pred_cam: draw samples returned by predict')
        cam_in = decode_maps(raw)
        gt_in = _numpy(_get(sample, 'gt_bboxes'))
        boxes_in = cam_boxes(raw, cam_thr, multi_contour)  # uint8 maps stay exact
        iou = None
        if gt_in is not None and len(gt_in.reshape(-1, 4)):
            pair = box_iou(boxes_in, gt_in.reshape(-1, 4))
            iou = float(pair.max())
            if multi_contour:  # the one box MaxBoxAccV2 scores: the best-matching contour's
                boxes_in = boxes_in[[int(pair.max(1).argmax())]]
        gt_label, pred_label = _label(_get(sample, 'gt_label')), _label(
            _get(sample, 'pred_label'))
        cam_label = _label(_get(sample, 'cam_label'))
        if cam_label is None:
            cam_label = gt_label if gt_label is not None else pred_label
        topk_cams, topk_labels = np.zeros((0, 1, 1), np.float32), ()
        maps = _numpy(_get(sample, 'pred_cams'))
        if topk > 0 and maps is not None and len(maps):
            k = min(topk, len(maps))
            topk_cams = map_to_original(decode_maps(maps[:k]), meta)
            topk_labels = tuple(int(v) for v in _numpy(_get(sample, 'pred_cam_labels'))[:k])
        scores = _numpy(_get(sample, 'pred_score'))
        return cls(cam=np.clip(map_to_original(cam_in, meta), 0, 1),
                   gt_boxes=gt_boxes_original(meta, gt_in),
                   pred_boxes=boxes_to_original(boxes_in, meta), iou=iou, cam_thr=cam_thr,
                   cam_label=cam_label, gt_label=gt_label, pred_label=pred_label,
                   scores=None if scores is None else scores.astype(np.float32),
                   topk_cams=topk_cams, topk_labels=topk_labels, input_cam=cam_in)

    def score(self, label: Optional[int]) -> Optional[float]:
        """Score of class ``label`` (None when unknown)."""
        if label is None or self.scores is None or label >= len(self.scores):
            return None
        return float(self.scores[label])


def _label(value: Any) -> Optional[int]:
    value = _numpy(value)
    if value is None or value.size == 0:
        return None
    return int(value.reshape(-1)[0])
