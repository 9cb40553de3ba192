"""Common interface of the torch-free metric bodies."""
from typing import Any, Dict, List, Optional, Sequence

from .image_pool import map_chunks


class BaseScorer:
    """Per-image records and split-level numbers of one metric, without mmengine or torch.

    The registered metrics (``wsol_mm.evaluation.metrics``) inherit ``process``
    and ``compute_metrics`` from a scorer and add only mmengine's ``BaseMetric``
    (gathering across ranks, key prefixes). Offline evaluation
    (``tools/analysis_tools/eval_cams.py``) runs the scorers directly, so both
    paths run the same code, and the tool starts without importing torch.
    """

    #: key prefix (the metric's ``default_prefix``)
    default_prefix: Optional[str] = None
    #: the ``type`` of the registered metric that runs this scorer
    metric_type: str = ''

    def __init__(self) -> None:
        if not hasattr(self, 'results'):  # BaseMetric.__init__ may have set it
            self.results: List[Any] = []

    #: score the samples of a batch on the evaluation threads (``image_pool``); False for
    #: records cheaper than a thread hand-off
    threaded: bool = True
    #: samples per call of :meth:`records` on the threads (a scorer whose kernel scores
    #: several maps per call hands out that many)
    chunk_size: int = 1

    def process(self, data_batch: Any, data_samples: Sequence[dict]) -> None:
        """Append one small record per sample (:meth:`records`) to ``self.results``."""
        if self.threaded:
            self.results.extend(map_chunks(self.records, data_samples, self.chunk_size))
        else:
            self.results.extend(self.records(list(data_samples)))

    def record(self, sample: dict) -> Any:
        """The record of one sample (it depends on that sample alone)."""
        raise NotImplementedError

    def records(self, samples: List[dict]) -> List[Any]:
        """The records of a chunk of samples, in order: :meth:`record` of each, unless a
        scorer scores several samples per kernel call."""
        return [self.record(sample) for sample in samples]

    def compute_metrics(self, results: List[Any]) -> Dict[str, float]:
        """Split-level metrics (keys without the prefix) from the records."""
        raise NotImplementedError

    def curves(self, results: List[Any]) -> Dict[str, Any]:
        """Per-threshold curves and per-bin counts for plots and JSON (empty by default)."""
        return {}

    def evaluate_offline(self) -> Dict[str, float]:
        """Prefixed metrics of ``self.results`` (what ``BaseMetric.evaluate`` returns on 1 rank)."""
        metrics = self.compute_metrics(self.results)
        return {f'{self.default_prefix}/{k}': v for k, v in metrics.items()}
