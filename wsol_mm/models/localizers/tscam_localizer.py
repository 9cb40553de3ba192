"""TS-CAM: transformer patch tokens -> class maps, coupled with the cls-token attention."""
from typing import List, Optional, Tuple

import torch

from wsol_mm.registry import MODELS
from wsol_mm.structures import WSOLDataSample
from wsol_mm.utils.typing_utils import (
    ConfigType,
    OptConfigType,
    OptMultiConfig,
    OptSampleList,
    SampleList,
)

from ..heads.base_cam_head import select_maps
from ..utils import pack_cam_predictions
from .base_localizer import BaseLocalizer
from .base_localizer import build_module as _build


@MODELS.register_module()
class TSCAMLocalizer(BaseLocalizer):
    """TS-CAM (Gao et al., ICCV 2021): ``M_c = a * S_c`` (spec §1.2-§1.4).

    ``S`` = the head's semantic-aware class maps (B, C, h, w); ``a`` = the
    cls-query attention on the patches, averaged over heads and **summed over
    all blocks** (B, 1, h, w). Training uses only the GAP logits' loss.

    Subclasses (LCA-MD) override ``_semantic_and_attention``, ``_fuse``,
    ``loss`` or ``attention_map`` rather than ``predict``; ``raw_attention``
    (un-normalised sum), ``head.logits_from_maps`` (logits of refined maps) and
    ``head.loss_by_logits`` are the building blocks.

    Args:
        backbone (dict): a backbone returning ``(patch_map, cls_attn)`` with
            ``cls_attn`` ``(B, L, h*w)`` (``VisionTransformer``, ``Conformer``).
        head (dict): ``ConvCAMHead``-like head (``class_maps``, ``loss``).
        normalize_attention (bool): min-max normalise ``a`` per image before
            the product (LCA-MD); TS-CAM multiplies the raw sum. Defaults to False.
        attention_layers (tuple, optional): indices of the blocks whose rows
            are summed; None = all (TS-CAM). Defaults to None.
        data_preprocessor (dict, optional): Defaults to ``WSOLDataPreprocessor``.
        train_cfg (dict, optional): kept for subclasses.
        test_cfg (dict, optional): ``topk_cams`` (default 5; maps of the GT and
            top-k classes are written so fixed, sweep and wsolevaluation
            protocols all work) and ``interpolation`` (default ``'bilinear'``,
            the released ``cv2.resize``).
        init_cfg (dict, optional): mmengine init config.
    """

    def __init__(self,
                 backbone: ConfigType,
                 head: ConfigType,
                 normalize_attention: bool = False,
                 attention_layers: Optional[Tuple[int, ...]] = None,
                 data_preprocessor: OptConfigType = None,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(data_preprocessor, train_cfg, test_cfg, init_cfg,
                         default_test_cfg=dict(topk_cams=5, interpolation='bilinear'))
        self.backbone = _build(backbone)
        self.head = _build(head)
        self.normalize_attention = normalize_attention
        self.attention_layers = None if attention_layers is None else list(attention_layers)

    def extract_feat(self, inputs: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Backbone output ``(patch_map, cls_attn)``."""
        feats = self.backbone(inputs)
        if len(feats) < 2:
            raise ValueError('TSCAMLocalizer needs the cls attention: set '
                             '`backbone.out_cls_attention=True`')
        return feats

    def raw_attention(self, feats: Tuple[torch.Tensor, ...]) -> torch.Tensor:
        """Cls attention summed over the selected blocks, ``(B, 1, h, w)``, never normalised."""
        patch_map, cls_attn = feats[0], feats[1]
        if self.attention_layers is not None:
            cls_attn = cls_attn[:, self.attention_layers]
        return cls_attn.sum(dim=1).view(cls_attn.shape[0], 1, *patch_map.shape[-2:])

    def attention_map(self, feats: Tuple[torch.Tensor, ...]) -> torch.Tensor:
        """The attention used for fusion: ``raw_attention``, min-max normalised if configured."""
        attn = self.raw_attention(feats)
        if self.normalize_attention:
            # LCA-MD: subtract the min, divide by the max of the shifted map.
            flat = attn.flatten(1)
            flat = flat - flat.min(dim=1, keepdim=True).values
            attn = (flat / flat.max(dim=1, keepdim=True).values.clamp_min(1e-12)).view_as(attn)
        return attn

    def _semantic_and_attention(
            self, feats: Tuple[torch.Tensor, ...]) -> Tuple[torch.Tensor, torch.Tensor]:
        """Class maps ``S`` (B, C, h, w) and attention ``a`` (B, 1, h, w)."""
        return self.head.class_maps(feats), self.attention_map(feats)

    def _fuse(self, semantic: torch.Tensor, attention: torch.Tensor) -> torch.Tensor:
        """Localisation maps ``a * S`` (S detached, as released: maps are never trained)."""
        return attention * semantic.detach()

    def loss(self, inputs: torch.Tensor, data_samples: SampleList) -> dict:
        """Cross-entropy of ``GAP(S)`` only."""
        return self.head.loss(self.extract_feat(inputs), data_samples)

    def predict(self, inputs: torch.Tensor,
                data_samples: OptSampleList = None) -> List[WSOLDataSample]:
        """Scores + fused maps of the GT class and the top-k classes at ``img_shape``."""
        feats = self.extract_feat(inputs)
        semantic, attention = self._semantic_and_attention(feats)
        return pack_cam_predictions(
            self.head.logits_from_maps(feats, semantic),
            lambda cls: self._fuse(select_maps(semantic, cls), attention), data_samples,
            input_size=tuple(inputs.shape[-2:]), **self.test_cfg)

    def _forward(self, inputs: torch.Tensor,
                 data_samples: Optional[SampleList] = None) -> Tuple[torch.Tensor, ...]:
        """``(logits (B, C), localisation maps (B, C, h, w))``."""
        feats = self.extract_feat(inputs)
        semantic, attention = self._semantic_and_attention(feats)
        return self.head.logits_from_maps(feats, semantic), self._fuse(semantic, attention)
