"""Transformer localizer: patch-token class maps coupled with the cls-token attention.

TS-CAM, SCM and LCA-MD are configurations of this one class: SCM adds an SSFM neck (graph
diffusion of the class maps in training), LCA-MD a TFCM and an SSFM neck and min-max
normalised attention.
"""
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn

from wsol_mm.registry import MODELS
from wsol_mm.structures import ClassMapOutput, ForwardPass
from wsol_mm.utils.typing_utils import (
    ConfigType,
    OptConfigType,
    OptMultiConfig,
    OptSampleList,
    SampleList,
)

from ..heads.base_cam_head import select_maps
from ..utils.memory_format import feed_contiguous
from .base_localizer import BaseLocalizer, build_module, gt_labels, merge_terms


@MODELS.register_module()
class TSCAMLocalizer(BaseLocalizer):
    """TS-CAM (Gao et al., ICCV 2021) and its descendants: ``M_c = a * S_c``.

    ``S`` = the head's semantic-aware class maps (B, C, h, w); ``a`` = the cls-query
    attention on the patches, averaged over heads and summed over the chosen blocks
    (B, 1, h, w), min-max normalised per image if ``normalize_attention``. Logits are
    the head's ``logits_from_maps(S)`` (GAP; plus the CNN branch for Conformer). The
    class-agnostic map is ``a`` itself.

    Training: the classification loss of ``logits_from_maps(S')``, where ``S'`` are the
    class maps after the training-time necks, plus the necks' own loss terms. Each
    neck ``forward_train(maps, attention, raw_attention) -> (refined maps or None,
    terms)`` receives the maps as refined by the necks before it (so LCA-MD lists TFCM,
    which reads the unrefined maps, before SSFM). Inference never runs the necks, as
    released.

    Args:
        backbone (dict): a backbone returning ``(patch_map, cls_attn)`` with ``cls_attn``
            ``(B, L, h*w)`` (``VisionTransformer``, ``Conformer``).
        head (dict): ``ConvCAMHead``-like head (``class_maps``, ``logits_from_maps``).
        neck (dict | list[dict], optional): training-time necks (``SSFM``, ``TFCM``),
            applied in order; a neck's missing ``num_classes`` is the head's.
        normalize_attention (bool): min-max normalise ``a`` per image (SCM, LCA-MD);
            TS-CAM multiplies the raw sum. Defaults to False.
        attention_layers (tuple, optional): indices of the blocks whose rows are
            summed; None = all (TS-CAM). Defaults to None.
        methods (list[dict], optional): training-method components. Defaults to None.
        data_preprocessor (dict, optional): Defaults to ``WSOLDataPreprocessor``.
        train_cfg (dict, optional): kept for components.
        test_cfg (dict, optional): post-processor options; ``interpolation`` defaults to
            ``'bilinear'`` (the released ``cv2.resize``), ``topk_cams`` to 5 (GT and
            top-k maps, so the fixed, sweep and wsolevaluation protocols all work).
        init_cfg (dict, optional): mmengine init config.
        contiguous_modules (Sequence[str]): submodules whose input is made contiguous
            (NCHW) first (:func:`feed_contiguous`; same values). The patch map of a
            ``VisionTransformer`` is a view of its tokens in channel-minor order; oneDNN
            runs the head's 3x3 convolution on it in channels-last and converts the
            weight to that order on every call, so the configs feed ``head.conv`` NCHW,
            as the released code does (``x_patch.contiguous()``). Defaults to none.
    """

    def __init__(self,
                 backbone: ConfigType,
                 head: ConfigType,
                 neck: Union[ConfigType, Sequence[ConfigType], None] = None,
                 normalize_attention: bool = False,
                 attention_layers: Optional[Tuple[int, ...]] = None,
                 methods: Optional[List[ConfigType]] = None,
                 data_preprocessor: OptConfigType = None,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 init_cfg: OptMultiConfig = None,
                 contiguous_modules: Sequence[str] = ()) -> None:
        super().__init__(methods, data_preprocessor, train_cfg, test_cfg, init_cfg,
                         default_test_cfg=dict(topk_cams=5, interpolation='bilinear'))
        self.backbone = build_module(backbone)
        self.head = build_module(head)
        feed_contiguous(self, contiguous_modules, 'model.contiguous_modules')
        necks = neck if isinstance(neck, (list, tuple)) else ([neck] if neck else [])
        self.neck = nn.ModuleList(
            [build_module(n, num_classes=self.head.num_classes) for n in necks])
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

    def _class_maps(self, feats: Tuple[torch.Tensor, ...], with_maps: bool = False
                    ) -> Tuple[Callable[[], torch.Tensor], torch.Tensor, ClassMapOutput]:
        """``S`` (computed on first use, once), ``a`` and the :class:`ClassMapOutput`.

        The logits come from the head without forming ``S`` where it can
        (``logits_from_feats``; the head has no dropout, so the maps computed later are
        those of the same pass): plain TS-CAM training never needs the maps. With
        ``with_maps`` (the caller forms ``S`` anyway: the necks) they are ``S``'s own.
        """
        cache: List[torch.Tensor] = []

        def semantic() -> torch.Tensor:
            if not cache:
                cache.append(self.head.class_maps(feats))
            return cache[0]

        attention = self.attention_map(feats)
        fast = None if with_maps else getattr(self.head, 'logits_from_feats', None)
        logits = fast(feats) if fast is not None else self.head.logits_from_maps(
            feats, semantic())
        return semantic, attention, ClassMapOutput(
            logits, lambda classes: attention * select_maps(semantic(), classes),
            lambda: attention)

    def forward_cams(self, feats: Tuple[torch.Tensor, ...]) -> ClassMapOutput:
        """Logits of ``S``; maps ``a * S_c``; class-agnostic map ``a``."""
        return self._class_maps(feats)[2]

    def loss(self, inputs: torch.Tensor, data_samples: SampleList) -> dict:
        """Loss dict of one pass (see :meth:`BaseLocalizer.loss`).

        Plain TS-CAM training (no neck, no method component) reads only the logits, which
        the head gets from the patch map alone (``logits_from_feats``): a backbone that
        can (``rows_on_request``) then skips the cls-attention rows, whose ``q_cls K^T``
        products, softmaxes and ``qkv`` rows of the samples that stochastic depth drops
        took about 2 % of a DeiT-S step. The same loss. Wrappers (crop consistency) call
        :meth:`forward_train`, which always has the rows.
        """
        fast = getattr(self.head, 'logits_from_feats', None)
        if (len(self.neck) or len(self.methods) or fast is None
                or not getattr(self.backbone, 'rows_on_request', False)):
            return super().loss(inputs, data_samples)
        feats = (self.backbone(inputs, with_rows=False)[0], None)  # the rows' place kept
        # no class maps (cams=None): with no neck and no method, nothing here reads them
        return self.pass_losses(ForwardPass(inputs, feats, None, fast(feats),
                                            labels=gt_labels(data_samples, inputs.device)),
                                data_samples)

    def forward_train(self, inputs: torch.Tensor,
                      data_samples: OptSampleList = None) -> ForwardPass:
        """One pass; the classification logits come from the neck-refined maps."""
        feats = self.extract_feat(inputs)
        semantic, attention, cams = self._class_maps(feats, with_maps=len(self.neck) > 0)
        cls_logits, terms = cams.logits, {}
        if len(self.neck):
            maps = semantic()
            raw = self.raw_attention(feats)
            for neck in self.neck:
                refined, own = neck.forward_train(maps, attention, raw)
                merge_terms(terms, own, type(neck).__name__)
                if refined is not None:
                    maps = refined.to(semantic().dtype)
            if maps is not semantic():
                cls_logits = self.head.logits_from_maps(feats, maps)
        return ForwardPass(inputs, feats, cams, cls_logits,
                           labels=gt_labels(data_samples, inputs.device), losses=terms)

    def legacy_key_map(self) -> Dict[str, str]:
        """Keys of the SCM / LCA-MD localizers of wsol_mm <= 0.1 (``ssfm.*``, ``tfcm.*``)."""
        out = {}
        for i, neck in enumerate(self.neck):
            old = getattr(neck, 'legacy_prefix', None)
            if old is not None:
                out.update({f'neck.{i}.{k}': f'{old}{k}' for k in neck.state_dict()})
        return out
