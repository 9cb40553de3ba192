"""Backbone (+ neck) + CAM head, optionally with training-method components."""
from typing import List, Optional, Sequence, Tuple

import torch

from wsol_mm.registry import MODELS
from wsol_mm.structures import ClassMapOutput, ForwardPass
from wsol_mm.utils.typing_utils import ConfigType, OptConfigType, OptMultiConfig, OptSampleList

from ..layers import use_winograd_convs
from ..utils import feed_contiguous
from .base_localizer import BaseLocalizer, build_module


@MODELS.register_module()
class CAMLocalizer(BaseLocalizer):
    """Class-activation-map localizer (CAM and the CNN methods built on it).

    Args:
        backbone (dict): backbone config (returns a tuple of NCHW maps; split
            backbones return ``(split map, final map)`` and offer ``forward_tail``).
        head (dict): head config (``forward_maps``: logits + class maps of one pass).
        neck (dict, optional): feature neck config. Defaults to None.
        methods (list[dict], optional): training-method components (DA-WSOL,
            Bridging the gap), each returning its own prefixed loss terms from the
            pass it is given. Inference ignores them. Defaults to None.
        data_preprocessor (dict, optional): Defaults to ``WSOLDataPreprocessor``.
        train_cfg (dict, optional): unused by plain CAM; kept for components.
        test_cfg (dict, optional): the post-processor's ``norm``, ``interpolation``
            (default ``'bicubic'``) and ``topk_cams`` (default 5).
        init_cfg (dict, optional): mmengine init config.
        contiguous_modules (Sequence[str]): submodules (dotted names, e.g.
            ``'head.conv1'``) whose input is made contiguous (NCHW) in a channels-last
            model, for the layers oneDNN runs faster in that order
            (:func:`feed_contiguous`; same values). Defaults to none.
        winograd_convs (bool): train the wide 3x3 stride-1 convolutions (at least 128
            input and 256 output channels) by Winograd's F(4x4, 3x3) on CPU in float32
            (:class:`~wsol_mm.models.layers.WinogradConv2d`: 4x fewer products, ~10x
            the float rounding of the direct convolution; evaluation, bfloat16 and GPUs
            run the direct one) where that is at least 5 % faster on this CPU: each
            layer shape is timed once per process, on the first training step.
            Defaults to False.
    """

    def __init__(self,
                 backbone: ConfigType,
                 head: ConfigType,
                 neck: OptConfigType = None,
                 methods: Optional[List[ConfigType]] = None,
                 data_preprocessor: OptConfigType = None,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 init_cfg: OptMultiConfig = None,
                 contiguous_modules: Sequence[str] = (),
                 winograd_convs: bool = False) -> None:
        super().__init__(methods, data_preprocessor, train_cfg, test_cfg, init_cfg,
                         default_test_cfg=dict(topk_cams=5, interpolation='bicubic'))
        self.backbone = build_module(backbone)
        self.neck = build_module(neck) if neck else None
        self.head = build_module(head)
        if winograd_convs:  # before feed_contiguous: it hooks modules this may replace
            use_winograd_convs(self)
        feed_contiguous(self, contiguous_modules, 'model.contiguous_modules')

    def extract_feat(self, inputs: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        feats = self.backbone(inputs)
        return self.neck(feats) if self.neck is not None else feats

    def forward_cams(self, feats: Tuple[torch.Tensor, ...]) -> ClassMapOutput:
        """The head's logits and maps (one head pass)."""
        return self.head.forward_maps(feats)

    def forward_train(self, inputs: torch.Tensor,
                      data_samples: OptSampleList = None) -> ForwardPass:
        """One pass, plus the backbone tail and class similarity for split-backbone methods."""
        fp = super().forward_train(inputs, data_samples)
        if self.neck is None:
            fp.backbone_tail = getattr(self.backbone, 'forward_tail', None)
        fp.class_similarity = getattr(self.head, 'cosine_maps', None)
        return fp
