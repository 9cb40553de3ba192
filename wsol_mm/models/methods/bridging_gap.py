"""Bridging the gap between classification and localization (Kim et al., CVPR 2022)."""
from typing import Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from wsol_mm.registry import MODELS
from wsol_mm.utils.typing_utils import ConfigType, SampleList


@MODELS.register_module()
class BridgingGap(nn.Module):
    """Bridging-the-gap losses as a ``CAMLocalizer(methods=[...])`` component.

    Needs a split backbone (``ResNetBridCAM``, ``VGG16BridCAM``) that returns
    ``(split-point map, final map)`` and offers ``forward_tail``. The split map is
    attentively dropped (:class:`AttentiveDrop`) and run through the tail again;
    the terms added to the head's ``loss_cls`` are::

        loss_drop       = drop_weight * L1(final, final_from_dropped)
        loss_align_sim  = sim_weight  * L_sim     (only when ``align_enabled``)
        loss_align_norm = norm_weight * L_norm    (only when ``align_enabled``)

    (:class:`FeatureAlignmentLoss`; the cosines are the head's
    ``cosine_maps``). ``BridgingGapWarmupHook`` switches the alignment on after
    the warm-up epochs. The CAM uses the unerased map; inference is the head's.

    Args:
        drop_threshold (float): attentive-drop threshold. Defaults to 0.8.
        drop_prob (float): attentive-drop probability. Defaults to 0.25.
        drop_weight (float): weight of ``L_drop``. Defaults to 2.0.
        sim_weight (float): weight of ``L_sim``. Defaults to 0.5.
        norm_weight (float): weight of ``L_norm``. Defaults to 0.05.
        alignment (dict): :class:`FeatureAlignmentLoss` config.
        align_enabled (bool): alignment terms on. Defaults to True.
    """

    def __init__(self,
                 drop_threshold: float = 0.8,
                 drop_prob: float = 0.25,
                 drop_weight: float = 2.0,
                 sim_weight: float = 0.5,
                 norm_weight: float = 0.05,
                 alignment: ConfigType = dict(type='FeatureAlignmentLoss'),
                 align_enabled: bool = True) -> None:
        super().__init__()
        self.drop = MODELS.build(dict(type='AttentiveDrop', drop_threshold=drop_threshold,
                                      drop_prob=drop_prob))
        self.alignment = MODELS.build(alignment)
        self.drop_weight, self.sim_weight, self.norm_weight = drop_weight, sim_weight, norm_weight
        self.align_enabled = align_enabled

    def extra_repr(self) -> str:
        return (f'drop_weight={self.drop_weight}, sim_weight={self.sim_weight}, '
                f'norm_weight={self.norm_weight}, align_enabled={self.align_enabled}')

    def method_loss(self, localizer: nn.Module, inputs: torch.Tensor,
                    data_samples: SampleList, feats: Tuple[torch.Tensor, ...]) -> dict:
        """Drop and (after warm-up) alignment terms of one pass."""
        backbone = localizer.backbone
        if localizer.neck is not None or not hasattr(backbone, 'forward_tail') \
                or len(feats) < 2:
            raise TypeError('BridgingGap needs a split backbone without neck that returns '
                            '(split map, final map) and has `forward_tail` (ResNetBridCAM, '
                            f'VGG16BridCAM); got {type(backbone).__name__} (key '
                            '`model.backbone.type`)')
        final = feats[-1]
        erased = backbone.forward_tail(self.drop(feats[-2]))
        terms = dict(loss_drop=self.drop_weight * F.l1_loss(final, erased))
        if self.align_enabled:
            labels = torch.cat([s.gt_label for s in data_samples]).to(inputs.device)
            loss_sim, loss_norm = self.alignment(final, localizer.head.cosine_maps(final),
                                                 labels)
            terms.update(loss_align_sim=self.sim_weight * loss_sim,
                         loss_align_norm=self.norm_weight * loss_norm)
        return terms

    def loss(self, localizer: nn.Module, inputs: torch.Tensor, data_samples: SampleList,
             feats: Tuple[torch.Tensor, ...], losses: dict) -> dict:
        """Add the Bridging-gap terms to ``losses``."""
        losses.update(self.method_loss(localizer, inputs, data_samples, feats))
        return losses
