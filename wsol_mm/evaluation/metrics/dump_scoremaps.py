"""Save GT-class score maps in the wsolevaluation layout while testing."""
import os.path as osp
from typing import Dict, List, Sequence

from mmengine.dist import get_dist_info
from mmengine.evaluator import BaseMetric

from wsol_mm.registry import METRICS

from ..functional import save_scoremap


@METRICS.register_module()
class DumpScoremaps(BaseMetric):
    """Write each sample's ``pred_cam`` to ``out_dir/<img_id>.npy`` (atomically).

    The files are what ``tools/analysis_tools/eval_cams.py`` reads. Each rank
    writes its own samples; the only record kept is a count.

    Args:
        out_dir (str): score-map root.
    """

    default_prefix = 'scoremaps'

    def __init__(self, out_dir: str, **kwargs) -> None:
        super().__init__(**kwargs)
        self.out_dir = out_dir

    def process(self, data_batch, data_samples: Sequence[dict]) -> None:
        for sample in data_samples:
            if 'pred_cam' not in sample:
                raise KeyError('pred_cam missing: the model predict() must write it')
            img_id = sample.get('img_id') or osp.basename(sample['img_path'])
            save_scoremap(self.out_dir, img_id, sample['pred_cam'])
            self.results.append(dict(saved=1, rank=get_dist_info()[0]))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        return dict(saved=float(sum(r['saved'] for r in results)))
