"""The one place where class maps become the score maps that data samples carry."""
from typing import List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn

from wsol_mm.registry import MODELS
from wsol_mm.structures import ClassMapOutput, WSOLDataSample
from wsol_mm.utils.typing_utils import ConfigType

from ..utils.cam_utils import resize_cams, select_cam_classes
from ..utils.precision import at_least_float32

_INTERPOLATIONS = ('bicubic', 'bilinear', 'nearest', 'area')


@MODELS.register_module()
class CAMPostProcessor(nn.Module):
    """Resize, normalise and pack class maps into data samples (built from ``test_cfg``).

    For each image the GT-class map and the maps of the top-k predicted classes are
    resized to the sample's ``img_shape`` (network-input frame) and normalised by the
    registered normaliser ``norm``; ``pred_score`` (softmax), ``pred_label``, ``pred_cam``
    (``(H, W)``, GT class; top-1 without a label), ``pred_cams`` (``(k, H, W)``),
    ``pred_cam_labels`` and ``pred_logits`` (``(C,)``) are written as compact contiguous
    tensors. Every ``predict``, the
    inference API and the visualiser go through it, so ``test_cfg.norm`` applies to every
    method (``--cfg-options model.test_cfg.norm.type=IVR model.test_cfg.norm.percentile=0.3``).

    Args:
        norm (dict | nn.Module): normaliser config (``MinMax``, ``Max``, ``PaS``, ``IVR``).
            Defaults to ``dict(type='MinMax')``.
        interpolation (str): resize mode of the maps. Defaults to 'bicubic'
            (wsolevaluation; TS-CAM-family configs use 'bilinear', the released
            ``cv2.resize``).
        topk_cams (int): also write the maps of the top-k predicted classes; 0 writes only
            the GT-class map. Defaults to 5.

    Examples:
        >>> pp = CAMPostProcessor(topk_cams=1)
        >>> maps = torch.rand(1, 3, 2, 2)
        >>> out = ClassMapOutput(maps.mean((2, 3)), lambda c: maps.gather(
        ...     1, c[:, :, None, None].expand(-1, -1, 2, 2)))
        >>> sample = pp(out, None, input_size=(4, 4))[0]
        >>> tuple(sample.pred_cam.shape), float(sample.pred_cam.max())
        ((4, 4), 1.0)
    """

    def __init__(self, norm: Union[ConfigType, nn.Module] = dict(type='MinMax'),
                 interpolation: str = 'bicubic', topk_cams: int = 5) -> None:
        super().__init__()
        if interpolation not in _INTERPOLATIONS:
            raise ValueError(f'test_cfg.interpolation must be one of {_INTERPOLATIONS}, got '
                             f'{interpolation!r}')
        if topk_cams < 0:
            raise ValueError(f'test_cfg.topk_cams must be >= 0, got {topk_cams}')
        self.norm = norm if isinstance(norm, nn.Module) else MODELS.build(norm)
        self.interpolation = interpolation
        self.topk_cams = topk_cams

    def extra_repr(self) -> str:
        return f'interpolation={self.interpolation}, topk_cams={self.topk_cams}'

    def score_maps(self, raw: torch.Tensor, size: Tuple[int, int]) -> torch.Tensor:
        """Raw ``(B, K, h, w)`` maps -> normalised ``(B, K, H, W)`` score maps at ``size``."""
        return self.norm(resize_cams(raw, tuple(size[:2]), self.interpolation))

    def forward(self, out: ClassMapOutput,
                data_samples: Optional[Sequence[WSOLDataSample]] = None,
                input_size: Optional[Tuple[int, int]] = None) -> List[WSOLDataSample]:
        """Write the predictions of ``out`` into ``data_samples`` (new samples if None).

        Args:
            out (ClassMapOutput): logits and class maps of one pass.
            data_samples (list, optional): the batch's samples.
            input_size (tuple, optional): ``(H, W)`` used for samples without
                ``img_shape``.
        """
        logits = at_least_float32(out.logits.detach())
        scores = logits.softmax(dim=1)
        if data_samples is None:
            data_samples = [WSOLDataSample() for _ in range(logits.shape[0])]
        gt, topk_classes = select_cam_classes(scores, data_samples, self.topk_cams)
        classes = gt[:, None]
        if self.topk_cams > 0:
            classes = torch.cat([classes, topk_classes], dim=1)
        raw = at_least_float32(out.maps(classes).detach())
        sizes = [tuple(s.metainfo.get('img_shape', input_size) or ()) for s in data_samples]
        if any(len(size) < 2 for size in sizes):
            raise ValueError('a data sample has no `img_shape`; pass input_size')
        if len(set(sizes)) == 1:  # one resize for the whole batch
            maps = self.score_maps(raw, sizes[0])
        else:
            maps = [self.score_maps(raw[i:i + 1], size)[0] for i, size in enumerate(sizes)]
        labels = scores.argmax(dim=1)
        for i, sample in enumerate(data_samples):
            sample.set_pred_score(scores[i].clone())
            sample.pred_logits = logits[i].clone()
            sample.set_pred_label(int(labels[i]))
            # .clone(): a view would pickle the whole batch's storage (--out files).
            sample.pred_cam = maps[i][0].clone()
            if self.topk_cams > 0:
                sample.pred_cams = maps[i][1:].clone()
                sample.pred_cam_labels = topk_classes[i].clone()
        return data_samples
