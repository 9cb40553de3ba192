"""Save score maps (wsolevaluation layout) plus the sidecar that offline evaluation reads."""
import json
import os
import os.path as osp
from typing import Dict, List, Optional, Sequence

import numpy as np
from mmengine.dist import get_dist_info, is_main_process
from mmengine.evaluator import BaseMetric

from wsol_mm.registry import METRICS

from ..functional import SIDECAR_NAME, save_scoremap, save_sidecar
from ..scorers import SCORERS

_META_KEYS = ('img_shape', 'ori_shape', 'ori_gt_bboxes')
_DATA_KEYS = ('gt_label', 'pred_score', 'pred_cam_labels', 'gt_bboxes', 'gt_mask', 'ignore_mask')


def _numpy(value):
    return value.detach().cpu().numpy() if hasattr(value, 'detach') else value


@METRICS.register_module()
class DumpScoremaps(BaseMetric):
    """Write each sample's ``pred_cam`` to ``out_dir/<img_id>.npy`` and a sidecar file.

    The maps are the GT-class maps at the network input size, float32, in
    wsolevaluation's layout. ``out_dir/wsol_mm_samples.npz`` (written once all
    ranks are done) holds what the metrics need besides the maps: GT boxes and
    masks in the network-input frame, original boxes and shapes (size bins),
    labels, class scores, the top-K class ids, and the ``metrics`` configs, so
    that ``tools/analysis_tools/eval_cams.py --scoremap-root out_dir`` reproduces
    the online numbers exactly. With ``topk_maps`` the top-K maps (``pred_cams``)
    go to ``out_dir/<img_id>.topk.npy`` (needed by ``ThresholdSweepLocMetric``).

    Args:
        out_dir (str): score-map root.
        metrics (Sequence[dict], optional): configs of the run's other metrics;
            those eval_cams can run are recorded in the sidecar. Defaults to None.
        topk_maps (bool, optional): also save the top-K maps. Defaults to True
            when ``metrics`` has a ``ThresholdSweepLocMetric``.
        run_info (dict, optional): JSON-serialisable description of the run
            (config, checkpoint, split), shown in eval_cams' plot titles.
        **kwargs: ``collect_device`` / ``prefix`` of ``BaseMetric``.
    """

    default_prefix = 'scoremaps'

    def __init__(self, out_dir: str, metrics: Optional[Sequence[dict]] = None,
                 topk_maps: Optional[bool] = None, run_info: Optional[dict] = None,
                 **kwargs) -> None:
        super().__init__(**kwargs)
        self.out_dir = out_dir
        # plain JSON values (ConfigDicts and tuples become dicts and lists)
        specs = json.loads(json.dumps([dict(m) for m in metrics or []], default=str))
        self.metric_specs = [m for m in specs if m.get('type') in SCORERS]
        if topk_maps is None:
            topk_maps = any(m['type'] == 'ThresholdSweepLocMetric' for m in self.metric_specs)
        self.topk_maps = topk_maps
        self.run_info = json.loads(json.dumps(run_info or {}, default=str))
        self._started = False

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        """Save the maps of each sample and keep its ground truth and scores."""
        if not self._started:
            self._started = True
            sidecar = osp.join(self.out_dir, SIDECAR_NAME)
            if is_main_process() and osp.exists(sidecar):
                os.remove(sidecar)  # never leave a sidecar that describes older maps
        for sample in data_samples:
            if sample.get('pred_cam') is None:
                raise KeyError('DumpScoremaps: pred_cam missing: the model predict() must '
                               'write it')
            img_id = sample.get('img_id') or osp.basename(sample['img_path'])
            cam = _numpy(sample['pred_cam'])
            save_scoremap(self.out_dir, img_id, cam)
            if self.topk_maps:
                if sample.get('pred_cams') is None:
                    raise KeyError('DumpScoremaps: pred_cams missing (topk_maps=True): set '
                                   'model.test_cfg.topk_cams=5')
                save_scoremap(self.out_dir, img_id, _numpy(sample['pred_cams']), topk=True)
            record = dict(img_id=img_id, img_shape=np.asarray(cam).shape)
            for key in _META_KEYS[1:] + _DATA_KEYS:
                value = sample.get(key)
                if value is None and key == 'gt_bboxes':
                    value = sample.get('_gt_bboxes')
                if value is not None:
                    record[key] = np.asarray(_numpy(value))
            self.results.append(record)

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Write the sidecar (main process, after gathering) and report the count."""
        meta = dict(metrics=self.metric_specs, topk_maps=self.topk_maps, run=self.run_info,
                    classes=list((self.dataset_meta or {}).get('classes', ())),
                    world_size=get_dist_info()[1])
        save_sidecar(self.out_dir, results, meta)
        return dict(saved=float(len(results)))
