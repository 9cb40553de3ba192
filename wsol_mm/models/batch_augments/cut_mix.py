"""CutMix (Yun et al., ICCV 2019) on the input batch, as in wsolevaluation."""
import math
from typing import List, Optional, Tuple

import torch

from wsol_mm.registry import MODELS
from wsol_mm.structures import WSOLDataSample

from ..utils.method_rng import MethodRNG, method_rng


@MODELS.register_module()
class CutMix:
    """Paste a box of a shuffled batch into every image and mix the labels by area.

    A batch augment of :class:`WSOLDataPreprocessor` (training only). Per batch, as
    wsolevaluation's ``main.py`` + ``wsol/method/cutmix.py``, in this draw order:

    1. ``u`` uniform: the batch is mixed iff ``prob > u`` and ``beta > 0``;
    2. ``lam ~ Beta(beta, beta)``;
    3. a permutation ``perm`` of the batch;
    4. the box centre ``(cy, cx)``, uniform integers in ``[0, H)`` then ``[0, W)``.

    The box has sides ``int(H * sqrt(1 - lam))`` x ``int(W * sqrt(1 - lam))`` around the
    centre, clipped to the image (:meth:`box`); image ``i`` receives that box of image
    ``perm[i]``; ``lam`` becomes the kept area fraction. Each sample gets the soft
    target ``gt_score = lam * onehot(y_i) + (1 - lam) * onehot(y_perm[i])`` (float64),
    which the head's cross entropy uses instead of ``gt_label``: its value is the
    released ``lam * CE(y_a) + (1 - lam) * CE(y_b)``. ``gt_label`` stays the image's own
    label: crop consistency's maps (and anything else reading the GT class) use ``y_i``.

    Args:
        num_classes (int): classes of the head (length of ``gt_score``).
        beta (float): Beta distribution parameter; 0 disables. Defaults to 1.0
            (wsolevaluation ``--cutmix_beta``).
        prob (float): probability of mixing a batch. Defaults to 1.0
            (wsolevaluation ``--cutmix_prob``).
    """

    def __init__(self, num_classes: int, beta: float = 1.0, prob: float = 1.0) -> None:
        if int(num_classes) != num_classes or num_classes <= 0:
            raise ValueError(f'CutMix: num_classes must be a positive integer, got '
                             f'{num_classes} (key `model.data_preprocessor.batch_augments`)')
        if beta < 0 or not 0 <= prob <= 1:
            raise ValueError(f'CutMix: needs beta >= 0 and prob in [0, 1], got beta={beta}, '
                             f'prob={prob} (key `model.data_preprocessor.batch_augments`)')
        self.num_classes, self.beta, self.prob = int(num_classes), beta, prob
        self.rng: Optional[MethodRNG] = None  # None: the shared method_rng()

    def __repr__(self) -> str:
        return (f'{type(self).__name__}(num_classes={self.num_classes}, beta={self.beta}, '
                f'prob={self.prob})')

    @staticmethod
    def box(lam: float, cy: int, cx: int, height: int, width: int) -> Tuple[int, int, int, int]:
        """``(y1, x1, y2, x2)`` (end exclusive) of the pasted box, as ``rand_bbox``."""
        ratio = math.sqrt(1.0 - lam)
        cut_h, cut_w = int(height * ratio), int(width * ratio)
        y1, y2 = min(max(cy - cut_h // 2, 0), height), min(max(cy + cut_h // 2, 0), height)
        x1, x2 = min(max(cx - cut_w // 2, 0), width), min(max(cx + cut_w // 2, 0), width)
        return y1, x1, y2, x2

    def mixed_targets(self, labels: torch.Tensor, perm: torch.Tensor,
                      lam: float) -> torch.Tensor:
        """Soft targets ``(B, num_classes)`` (float64) of labels ``(B,)`` mixed with ``perm``."""
        if labels.numel() and int(labels.max()) >= self.num_classes:
            raise ValueError(f'CutMix: label {int(labels.max())} >= num_classes='
                             f'{self.num_classes}; set `num_classes` of the CutMix batch '
                             'augment to the head\'s')
        rows = torch.arange(len(labels))
        scores = torch.zeros(len(labels), self.num_classes, dtype=torch.float64)
        scores[rows, labels] += lam
        scores[rows, labels[perm]] += 1.0 - lam
        return scores

    def __call__(self, inputs: torch.Tensor, data_samples: List[WSOLDataSample]
                 ) -> Tuple[torch.Tensor, List[WSOLDataSample]]:
        """The mixed batch (a new tensor) and the samples with ``gt_score`` set."""
        rng = self.rng or method_rng()
        if not (self.prob > rng.random() and self.beta > 0):
            return inputs, data_samples
        batch, _, height, width = inputs.shape
        lam = rng.beta(self.beta, self.beta)
        perm = rng.permutation(batch)
        cy = rng.integers(height)
        cx = rng.integers(width)
        y1, x1, y2, x2 = self.box(lam, cy, cx, height, width)
        mixed = inputs.clone()
        mixed[:, :, y1:y2, x1:x2] = inputs[perm.to(inputs.device), :, y1:y2, x1:x2]
        lam = 1.0 - (y2 - y1) * (x2 - x1) / (height * width)
        labels = torch.cat([s.gt_label.view(-1)[:1].cpu() for s in data_samples])
        for sample, score in zip(data_samples, self.mixed_targets(labels, perm, lam)):
            sample.gt_score = score
        return mixed, data_samples
