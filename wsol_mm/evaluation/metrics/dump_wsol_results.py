"""Write compact per-image predictions while testing (``tools/test.py --out``)."""
from typing import Dict, List, Optional, Sequence

from mmengine.evaluator import BaseMetric
from mmengine.logging import print_log

from wsol_mm.registry import METRICS
from wsol_mm.utils.wsol_results_io import compact_record, save_wsol_results


@METRICS.register_module()
class DumpWSOLResults(BaseMetric):
    """Save every image's predictions to a pickle that the analysis tools read.

    Unlike mmengine's ``DumpResults`` (which pickles whole data samples, each map a
    view of its batch's storage), each record holds small contiguous arrays: the
    GT-class map as uint8 ``floor(255 s)`` (the box metrics' own quantisation, so
    they recompute exactly; PxAP needs ``cam_dtype='float16'``), ``pred_score`` as
    float16, boxes, masks and the metainfo needed to map back to the original image. See
    :mod:`wsol_mm.utils.wsol_results_io`; read it with ``load_wsol_results``.

    Args:
        out_file_path (str): the ``.pkl`` file to write.
        cam_dtype (str): map storage, ``'uint8'``, ``'float16'`` or ``'float32'``.
            Defaults to 'uint8'.
        topk_cams (bool): also keep the top-k predicted classes' maps. Defaults to False.
        collect_device (str): device for collecting results. Defaults to 'cpu'.
        prefix (str, optional): key prefix. Defaults to ``default_prefix``.
    """

    default_prefix: Optional[str] = 'dump'

    def __init__(self, out_file_path: str, cam_dtype: str = 'uint8', topk_cams: bool = False,
                 collect_device: str = 'cpu', prefix: Optional[str] = None) -> None:
        super().__init__(collect_device=collect_device, prefix=prefix)
        if not out_file_path.endswith(('.pkl', '.pickle')):
            raise ValueError(f'out_file_path {out_file_path}: the file must end with .pkl')
        self.out_file_path = out_file_path
        self.cam_dtype = cam_dtype
        self.topk_cams = topk_cams

    def process(self, data_batch, data_samples: Sequence) -> None:
        """Append one compact record per image."""
        for sample in data_samples:
            self.results.append(compact_record(sample, self.cam_dtype, self.topk_cams))

    def compute_metrics(self, results: List[dict]) -> Dict[str, float]:
        """Write the records (rank 0, after collection) and report their number."""
        save_wsol_results(results, self.out_file_path)
        print_log(f'{len(results)} predictions saved to {self.out_file_path}', logger='current')
        return dict(saved=float(len(results)))
