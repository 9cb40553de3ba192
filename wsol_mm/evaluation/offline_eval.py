"""Offline evaluation of stored score maps with the metrics' own scorers (used by eval_cams.py).

Two sources of ground truth, both feeding the same sample dicts to the scorers
that the registered metrics run online:

* the sidecar ``wsol_mm_samples.npz`` that ``tools/test.py --out-scoremaps``
  writes next to the maps: the GT of every image in the network-input frame,
  class scores and the run's metric configs (any config, any input size, any
  test pipeline: identical numbers to the online run);
* wsolevaluation split metadata (maps from other code, or without a sidecar):
  the frame is each map's own ``(H, W)``; boxes are rescaled from
  ``image_sizes.txt`` as wsolevaluation's ``resize_bbox``, masks with nearest
  neighbour, as its ``MaskEvaluator``.

Nothing here imports torch or mmengine.
"""
import os.path as osp
from typing import Any, Dict, Iterable, Iterator, List, Optional, Sequence

import numpy as np

from .functional import (
    SIDECAR_NAME,
    load_scoremap,
    load_sidecar,
    rescale_boxes,
    scoremap_path,
)
from .scorers import SCORERS, BaseScorer
from .scorers.image_pool import prefetched_chunks

__all__ = ['OfflineEvalError', 'DATASETS', 'METRIC_NAMES', 'build_scorers', 'default_specs',
           'specs_from_names', 'sidecar_samples', 'metadata_samples', 'evaluate_samples',
           'evaluate_scoremaps', 'run_title']

#: ``--dataset`` -> (folder of the split under the metadata root, annotation kind)
DATASETS = {'CUB': ('CUB/{split}', 'box'), 'ILSVRC': ('ILSVRC/{split}', 'box'),
            'OpenImages': ('OpenImages/{split}', 'mask'),
            'SyntheticWSOL': ('metadata/{split}', 'box')}
#: short metric names (the key prefixes) -> registered metric type
METRIC_NAMES = {'cls': 'ClsAccuracyMetric', 'maxboxacc': 'MaxBoxAccMetric',
                'maxboxaccv2': 'MaxBoxAccV2Metric', 'pxap': 'PxAPMetric',
                'loc': 'FixedThresholdLocMetric', 'sweep': 'ThresholdSweepLocMetric'}
_MAP_ONLY = ('MaxBoxAccMetric', 'MaxBoxAccV2Metric', 'PxAPMetric')  # need no class scores
_BASE_METRIC_ARGS = ('collect_device', 'collect_dir', 'prefix', 'type', '_scope_')


class OfflineEvalError(ValueError):
    """Inputs that offline evaluation cannot use; the message says what to change."""


def build_scorers(specs: Sequence[dict]) -> List[BaseScorer]:
    """Scorers from metric configs (``dict(type='MaxBoxAccV2Metric', size_bins=True)``).

    mmengine-only arguments (``collect_device`` ...) are dropped; ``prefix`` is kept.
    """
    scorers = []
    for spec in specs:
        if spec.get('type') not in SCORERS:
            raise OfflineEvalError(f'metric type {spec.get("type")!r} cannot run offline; '
                                   f'known: {sorted(SCORERS)}')
        kwargs = {k: v for k, v in spec.items() if k not in _BASE_METRIC_ARGS}
        try:
            scorer = SCORERS[spec['type']](**kwargs)
        except TypeError as err:
            raise OfflineEvalError(f'{spec["type"]}: {err}') from None
        if spec.get('prefix'):
            scorer.default_prefix = spec['prefix']
        scorers.append(scorer)
    return scorers


def default_specs(ann_kind: str, names: Optional[Sequence[str]] = None,
                  interval: Optional[float] = None) -> List[dict]:
    """Metric configs of the wsolevaluation protocol for a box or mask split.

    Args:
        ann_kind (str): ``'box'`` or ``'mask'``.
        names (Sequence[str], optional): short names (``maxboxacc``, ``maxboxaccv2``,
            ``pxap``, ``size``); defaults to all that apply to ``ann_kind``.
        interval (float, optional): CAM threshold step. Defaults to the metrics' 0.001.
    """
    names = list(names or (['maxboxacc', 'maxboxaccv2', 'size'] if ann_kind == 'box'
                           else ['pxap', 'size']))
    specs = []
    for name in names:
        if name == 'size':
            continue
        spec = dict(type=METRIC_NAMES[name])
        if name in ('maxboxaccv2', 'pxap') and 'size' in names:
            spec['size_bins'] = True
        if interval is not None:
            spec['cam_curve_interval'] = interval
        specs.append(spec)
    return specs


def _check_frame(path: str, cam: np.ndarray, shape: Sequence[int]) -> None:
    if cam.shape[-2:] != tuple(int(v) for v in shape):
        raise OfflineEvalError(f'{path}: map shape {cam.shape} but {SIDECAR_NAME} says the '
                               f'image was {tuple(shape)}; the maps and the sidecar come from '
                               'different runs: rerun tools/test.py --out-scoremaps')


def sidecar_samples(root: str, records: List[dict], topk: bool) -> Iterator[dict]:
    """Samples (as the metrics receive them) from the sidecar records and the stored maps."""
    for rec in records:
        sample = dict(rec)
        sample['pred_cam'] = load_scoremap(root, rec['img_id'])
        _check_frame(scoremap_path(root, rec['img_id']), sample['pred_cam'], rec['img_shape'])
        if topk:
            sample['pred_cams'] = load_scoremap(root, rec['img_id'], topk=True)
        yield sample


def _read_mask(path: str, shape: Sequence[int]) -> np.ndarray:
    import cv2
    if not osp.isfile(path):
        raise FileNotFoundError(f'mask {path} not found (listed in localization.txt)')
    mask = cv2.imread(path, cv2.IMREAD_GRAYSCALE)
    if mask is None:
        raise OfflineEvalError(f'mask {path} cannot be decoded (corrupt or not an image)')
    # as wsolevaluation's load_mask_image: float resize with nearest neighbour, > 0.5
    mask = cv2.resize(mask.astype(np.float32), (int(shape[1]), int(shape[0])),
                      interpolation=cv2.INTER_NEAREST)
    return mask > 0.5


def metadata_samples(root: str, split_dir: str, ann_kind: str,
                     mask_root: Optional[str] = None) -> Iterator[dict]:
    """Samples from wsolevaluation metadata; the frame is each map's own ``(H, W)``.

    The whole split is validated first (every metadata line, every map file), so
    a bad input stops the run before any work, with one message naming it.
    """
    from wsol_mm.datasets.metadata import MetadataError, read_wsol_metadata
    records = read_wsol_metadata(split_dir, ann_kind, require_localization=True)
    sizes_file = osp.join(split_dir, 'image_sizes.txt')
    for rec in records:
        if ann_kind == 'box' and rec['ori_size'] is None:
            raise MetadataError(f'{osp.join(split_dir, "image_ids.txt")}:{rec["line"]}: image '
                                f'id {rec["img_id"]!r} has no line in {sizes_file}; box '
                                'evaluation rescales boxes from the original image size')
    missing = [r['img_id'] for r in records
               if not osp.isfile(scoremap_path(root, r['img_id']))]
    if missing:
        raise FileNotFoundError(f'{len(missing)} of {len(records)} score maps missing, e.g. '
                                f'{scoremap_path(root, missing[0])} (image id {missing[0]!r})')
    if ann_kind == 'mask' and mask_root is None:
        raise OfflineEvalError('mask metadata needs --mask-root (the folder the mask paths '
                               'of localization.txt are relative to)')
    for rec in records:
        cam = load_scoremap(root, rec['img_id'])
        sample = dict(img_id=rec['img_id'], pred_cam=cam, gt_label=rec['gt_label'])
        if ann_kind == 'box':
            w, h = rec['ori_size']
            ori = np.asarray(rec['gt_bboxes'], np.float64).reshape(-1, 4)
            sample.update(gt_bboxes=rescale_boxes(ori, (w, h), (cam.shape[1], cam.shape[0])),
                          ori_gt_bboxes=ori, ori_shape=(h, w))
        else:
            gt = np.zeros(cam.shape, bool)
            for rel in rec['mask_paths']:
                gt |= _read_mask(osp.join(mask_root, rel), cam.shape)
            ignore = None
            if rec['ignore_path']:
                ignore = _read_mask(osp.join(mask_root, rec['ignore_path']), cam.shape) & ~gt
            sample.update(gt_mask=gt, ignore_mask=ignore)
        yield sample


_CHUNK = 64  # samples handed to the scorers at a time (a few MB of maps)


def evaluate_samples(samples: Iterable[dict], scorers: Sequence[BaseScorer],
                     progress: bool = False, total: Optional[int] = None) -> Dict[str, Any]:
    """Run the scorers over the samples.

    Returns:
        dict: the prefixed metric keys, plus ``curves`` (``<prefix>/<name>`` -> list),
        ``thresholds`` (``<prefix>`` -> list), ``settings`` (``<prefix>`` -> the
        scorer's threshold options) and ``num_images``.
    """
    if progress:
        from tqdm import tqdm
        samples = tqdm(samples, total=total, desc='scoring', unit='img')
    num = 0
    # batches, read ahead by a background thread: the scorers score a batch in threads
    for chunk in prefetched_chunks(samples, _CHUNK):
        for scorer in scorers:
            scorer.process(None, chunk)
        num += len(chunk)
    if num == 0:
        raise OfflineEvalError('no image to evaluate')
    out: Dict[str, Any] = dict(num_images=num, curves={}, thresholds={}, settings={})
    for scorer in scorers:
        try:
            out.update(scorer.evaluate_offline())
            curves = scorer.curves(scorer.results)
        except RuntimeError as err:  # e.g. PxAP of a split without foreground pixels
            raise OfflineEvalError(f'{scorer.default_prefix}: {err}') from None
        out['curves'].update({f'{scorer.default_prefix}/{k}': v for k, v in curves.items()})
        thresholds = getattr(scorer, 'thresholds', None)
        if getattr(scorer, 'curve_interval', None):  # fixed protocol curves
            from .functional import threshold_list
            thresholds = threshold_list(scorer.curve_interval)
        if curves and thresholds is not None:
            out['thresholds'][scorer.default_prefix] = np.asarray(thresholds).tolist()
        out['settings'][scorer.default_prefix] = dict(type=scorer.metric_type, **{
            k: getattr(scorer, k) for k in ('cam_thr', 'cam_curve_interval', 'size_bin_rule')
            if hasattr(scorer, k)})
    return out


def specs_from_names(names: Sequence[str], recorded: Sequence[dict] = ()) -> List[dict]:
    """Metric configs for short names: the recorded config of that type, else its defaults.

    ``'size'`` among the names turns on size bins for every metric that has them.
    """
    by_type: Dict[str, dict] = {}
    for spec in recorded:  # the first recorded config of each type
        by_type.setdefault(spec['type'], spec)
    specs = [dict(by_type.get(METRIC_NAMES[n], dict(type=METRIC_NAMES[n])))
             for n in names if n != 'size']
    if 'size' in names:
        for spec in specs:
            if spec['type'] != 'ClsAccuracyMetric':
                spec['size_bins'] = True
    return specs


def evaluate_scoremaps(scoremap_root: str, names: Optional[Sequence[str]] = None,
                       split_dir: Optional[str] = None, ann_kind: str = 'box',
                       mask_root: Optional[str] = None, progress: bool = False,
                       overrides: Optional[dict] = None,
                       specs: Optional[Sequence[dict]] = None) -> Dict[str, Any]:
    """Evaluate a score-map folder (sidecar when ``split_dir`` is None, else metadata).

    Args:
        scoremap_root (str): folder of ``<image_id>.npy`` maps.
        names (Sequence[str], optional): short metric names (see :data:`METRIC_NAMES`,
            plus ``size``); default: the metrics the sidecar records (the online
            run's) or :func:`default_specs`.
        split_dir (str, optional): wsolevaluation split folder (metadata mode).
        ann_kind (str): ``'box'`` or ``'mask'`` (metadata mode). Defaults to 'box'.
        mask_root (str, optional): root of the mask paths (metadata mode, masks).
        progress (bool): show a progress bar. Defaults to False.
        overrides (dict, optional): arguments set on every spec that takes them
            (e.g. ``cam_curve_interval``, ``size_bin_rule``, ``curve_interval``).
        specs (Sequence[dict], optional): explicit metric configs (instead of ``names``).

    Returns:
        dict: see :func:`evaluate_samples`, plus ``run`` (what the sidecar says about the run).
    """
    recorded: List[dict] = []
    run: dict = {}
    if split_dir is None:
        try:
            records, meta = load_sidecar(scoremap_root)
        except FileNotFoundError:
            raise OfflineEvalError(
                f'{osp.join(scoremap_root, SIDECAR_NAME)} not found: maps written by '
                'tools/test.py --out-scoremaps have it (an interrupted run does not); for '
                'maps from elsewhere pass --metadata-root, --dataset and --split') from None
        recorded, run = list(meta['metrics']), dict(meta.get('run') or {})
        ann_kind = 'mask' if 'gt_mask' in meta['fields'] else 'box'
    if specs is None:
        specs = (specs_from_names(names, recorded) if names else recorded
                 or default_specs(ann_kind))
    specs = [_apply(spec, overrides or {}) for spec in specs]
    if not specs:
        raise OfflineEvalError(f'no metric to run: choose some of {sorted(METRIC_NAMES)} '
                               "('size' only adds size bins to them)")
    scorers = build_scorers(specs)
    if split_dir is None:
        _check_fields(specs, meta)
        samples = sidecar_samples(scoremap_root, records, topk=any(
            s['type'] == 'ThresholdSweepLocMetric' for s in specs))
        total = len(records)
    else:
        needs_scores = [s['type'] for s in specs if s['type'] not in _MAP_ONLY]
        if needs_scores:
            raise OfflineEvalError(f'{needs_scores} need class scores, which only the sidecar '
                                   'of tools/test.py --out-scoremaps has; with metadata use '
                                   'maxboxacc, maxboxaccv2, pxap')
        samples, total = metadata_samples(scoremap_root, split_dir, ann_kind, mask_root), None
    out = evaluate_samples(samples, scorers, progress, total)
    out['run'] = run
    return out


def run_title(run: dict, fallback: str = '') -> str:
    """``config | checkpoint | split`` of a sidecar's run description (plot titles)."""
    parts = [osp.basename(str(run[k])) for k in ('config', 'checkpoint') if run.get(k)]
    if run.get('split'):
        parts.append(f"split {run['split']}")
    return ' | '.join(parts) or fallback


def _apply(spec: dict, overrides: dict) -> dict:
    spec = dict(spec)
    cls = SCORERS.get(spec.get('type'))
    if cls is None:
        return spec
    import inspect
    params = inspect.signature(cls.__init__).parameters
    spec.update({k: v for k, v in overrides.items() if k in params and v is not None})
    return spec


def _check_fields(specs: Sequence[dict], meta: dict) -> None:
    fields = set(meta['fields'])
    need = {'ClsAccuracyMetric': ('pred_score', 'gt_label'),
            'FixedThresholdLocMetric': ('pred_score', 'gt_label', 'gt_bboxes'),
            'ThresholdSweepLocMetric': ('pred_cam_labels', 'gt_label', 'gt_bboxes'),
            'MaxBoxAccMetric': ('gt_bboxes', ), 'MaxBoxAccV2Metric': ('gt_bboxes', ),
            'PxAPMetric': ('gt_mask', )}
    for spec in specs:
        lacking = [f for f in need.get(spec['type'], ()) if f not in fields]
        if spec.get('size_bins'):
            lacking += [f for f in ('ori_gt_bboxes', 'ori_shape')
                        if f not in fields and spec['type'] != 'PxAPMetric']
        if spec['type'] == 'ThresholdSweepLocMetric' and not meta.get('topk_maps'):
            lacking.append('top-K maps (<image_id>.topk.npy)')
        if lacking:
            raise OfflineEvalError(f'{spec["type"]} needs {lacking}, which the stored '
                                   f'{SIDECAR_NAME} lacks; choose other --metrics')
