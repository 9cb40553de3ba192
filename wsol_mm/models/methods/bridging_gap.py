"""Bridging the gap between classification and localization (Kim et al., CVPR 2022)."""
import torch.nn as nn
import torch.nn.functional as F

from wsol_mm.registry import MODELS
from wsol_mm.structures import ForwardPass
from wsol_mm.utils.typing_utils import ConfigType, SampleList

from ..utils.precision import at_least_float32, autocast_off


@MODELS.register_module()
class BridgingGap(nn.Module):
    """Bridging-the-gap losses as a training-method component (``model.methods``).

    Needs a split backbone (``ResNetBridCAM``, ``VGG16BridCAM``) that returns
    ``(split-point map, final map)`` and offers ``forward_tail`` (the pass'
    ``backbone_tail``). The split map is attentively dropped (:class:`AttentiveDrop`)
    and run through the tail again; its own terms, beside the head's ``loss_cls``::

        loss_brid_drop       = drop_weight * L1(final, final_from_dropped)
        loss_brid_align_sim  = sim_weight  * L_sim     (only when ``align_enabled``)
        loss_brid_align_norm = norm_weight * L_norm    (only when ``align_enabled``)

    (:class:`FeatureAlignmentLoss`; the cosines are the pass' ``class_similarity``,
    the head's ``cosine_maps``). ``BridgingGapWarmupHook`` switches the alignment on
    after the warm-up epochs (epoch switch ``bridging_gap_alignment``). The CAM uses
    the unerased map; inference is the localizer's.

    Args:
        drop_threshold (float): attentive-drop threshold. Defaults to 0.8.
        drop_prob (float): attentive-drop probability. Defaults to 0.25.
        drop_weight (float): weight of ``L_drop``. Defaults to 2.0.
        sim_weight (float): weight of ``L_sim``. Defaults to 0.5.
        norm_weight (float): weight of ``L_norm``. Defaults to 0.05.
        alignment (dict): :class:`FeatureAlignmentLoss` config.
        align_enabled (bool): alignment terms on. Defaults to True.
    """

    #: Epoch switches this component offers (``EpochSwitchHook``): name -> attribute.
    epoch_switches = dict(bridging_gap_alignment='align_enabled')

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

    def loss(self, fp: ForwardPass, data_samples: SampleList) -> dict:
        """Drop and (after warm-up) alignment terms of one pass."""
        if fp.backbone_tail is None or len(fp.feats) < 2:
            raise TypeError('BridgingGap needs a split backbone without neck that returns '
                            '(split map, final map) and has `forward_tail` (ResNetBridCAM, '
                            'VGG16BridCAM); check `model.backbone.type`')
        final = fp.feats[-1]
        erased = fp.backbone_tail(self.drop(fp.feats[-2]))  # the tail runs under autocast
        with autocast_off(final):  # the loss maths (cosines, norms) in float32
            final = at_least_float32(final)
            terms = dict(loss_brid_drop=self.drop_weight
                         * F.l1_loss(final, at_least_float32(erased)))
            if self.align_enabled:
                if fp.class_similarity is None:
                    raise TypeError('BridgingGap alignment needs a linear CAM head (CAMHead)')
                labels = fp.require_labels('BridgingGap')
                loss_sim, loss_norm = self.alignment(final, fp.class_similarity(final),
                                                     labels)
                terms.update(loss_brid_align_sim=self.sim_weight * loss_sim,
                             loss_brid_align_norm=self.norm_weight * loss_norm)
        return terms
