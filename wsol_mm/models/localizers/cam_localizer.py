"""Backbone (+ neck) + CAM head, optionally with a training/inference component."""
from typing import List, Optional, Tuple

import torch
import torch.nn as nn

from wsol_mm.registry import MODELS
from wsol_mm.structures import WSOLDataSample
from wsol_mm.utils.typing_utils import (
    ConfigType,
    OptConfigType,
    OptMultiConfig,
    OptSampleList,
    SampleList,
)

from .base_localizer import BaseLocalizer
from .base_localizer import build_module as _build


@MODELS.register_module()
class CAMLocalizer(BaseLocalizer):
    """Class-activation-map localizer.

    Args:
        backbone (dict): backbone config (returns a tuple of NCHW maps).
        head (dict): head config (``CAMHead``-like: ``loss``, ``predict``,
            ``get_cams``).
        neck (dict, optional): neck config. Defaults to None.
        methods (list[dict], optional): training-method components applied in
            order after the head loss, each ``loss(localizer, inputs,
            data_samples, feats, losses) -> losses`` (e.g. DA-WSOL, Bridging the
            gap); they may also offer ``method_loss(localizer, inputs,
            data_samples, feats) -> dict`` of their own terms (used by crop
            consistency on its zoom pass). Inference ignores them. Defaults to None.
        consistency (dict, optional): a method component with ``loss(localizer,
            inputs, data_samples, feats)`` and ``predict(localizer, inputs,
            data_samples, feats)`` (e.g. crop consistency). Defaults to None.
        data_preprocessor (dict, optional): Defaults to ``WSOLDataPreprocessor``.
        train_cfg (dict, optional): unused by plain CAM; kept for components.
        test_cfg (dict, optional): ``topk_cams`` (maps of the top-k predicted
            classes, default 5; 0 = GT-class map only) and ``interpolation``
            (default ``'bicubic'``).
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 backbone: ConfigType,
                 head: ConfigType,
                 neck: OptConfigType = None,
                 methods: Optional[List[ConfigType]] = None,
                 consistency: OptConfigType = None,
                 data_preprocessor: OptConfigType = None,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(data_preprocessor, train_cfg, test_cfg, init_cfg,
                         default_test_cfg=dict(topk_cams=5, interpolation='bicubic'))
        self.backbone = _build(backbone)
        self.neck = _build(neck) if neck else None
        self.head = _build(head)
        self.methods = nn.ModuleList([_build(m) for m in (methods or [])])
        self.consistency = _build(consistency) if consistency else None

    def extract_feat(self, inputs: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        feats = self.backbone(inputs)
        return self.neck(feats) if self.neck is not None else feats

    def loss(self, inputs: torch.Tensor, data_samples: SampleList) -> dict:
        feats = self.extract_feat(inputs)
        losses = self.head.loss(feats, data_samples)
        for method in self.methods:
            losses = method.loss(self, inputs, data_samples, feats, losses)
        if self.consistency is not None:
            losses = self.consistency.loss(self, inputs, data_samples, feats, losses)
        return losses

    def predict(self, inputs: torch.Tensor,
                data_samples: OptSampleList = None) -> List[WSOLDataSample]:
        feats = self.extract_feat(inputs)
        if self.consistency is not None:
            return self.consistency.predict(self, inputs, data_samples, feats)
        return self.head.predict(feats, data_samples, **self.test_cfg)

    def _forward(self, inputs: torch.Tensor,
                 data_samples: Optional[SampleList] = None) -> Tuple[torch.Tensor, ...]:
        return (self.head(self.extract_feat(inputs)), )
