"""LCA-MD: SCM's training-time diffusion over a multi-direction graph + TFCM contrast."""
from typing import Dict, Tuple

import torch

from wsol_mm.registry import MODELS
from wsol_mm.utils.typing_utils import ConfigType

from .base_localizer import build_module as _build
from .scm_localizer import SCMLocalizer

LCA_MD_SSFM = dict(type='SSFM', graph='multi_direction', cross=3, num_layers=2,
                   threshold_init=0.7)


@MODELS.register_module()
class LCAMD(SCMLocalizer):
    """LCA-MD (Lv et al., IEEE TIP 2025; released code, spec §2).

    Training loss (released values as defaults)::

        0.6 * CE(logits(SSFM(S, minmax(a))))
          + 0.4 * (SimMax(f_fg) + SimMax(f_bg) + SimMin(f_bg, f_fg))

    with ``(f_fg, f_bg) = TFCM(S, a)`` pooled by the **raw** summed attention.
    The 0.6 is the head's ``loss.loss_weight`` (set it in the config); the 0.4
    is the ``loss_weight`` of the two CCAM losses. Inference is the inherited
    ``minmax(a) * S`` with logits ``GAP(S)`` (TFCM and SSFM are training-only).

    Args:
        backbone (dict): ViT/Conformer backbone returning the cls attention.
        head (dict): ``ConvCAMHead`` / ``ConformerCAMHead`` config.
        tfcm (dict): contrast module; ``num_classes`` defaults to the head's.
        ssfm (dict): diffusion stack; defaults to LCA-MD's (40-offset graph,
            2 blocks, 16/4 Newton-Schulz steps, threshold 0.7).
        loss_sim_max (dict): applied to ``f_fg`` and to ``f_bg``.
        loss_sim_min (dict): applied to ``(f_bg, f_fg)``.
        normalize_attention (bool): Defaults to True (LCA-MD).
        **kwargs: the remaining ``SCMLocalizer`` arguments
            (``attention_layers``, ``data_preprocessor``, ``train_cfg``,
            ``test_cfg``, ``init_cfg``).
    """

    def __init__(self,
                 backbone: ConfigType,
                 head: ConfigType,
                 tfcm: ConfigType = dict(type='TFCM'),
                 ssfm: ConfigType = LCA_MD_SSFM,
                 loss_sim_max: ConfigType = dict(type='SimMaxLoss', alpha=0.75,
                                                 loss_weight=0.4),
                 loss_sim_min: ConfigType = dict(type='SimMinLoss', loss_weight=0.4),
                 normalize_attention: bool = True,
                 **kwargs) -> None:
        super().__init__(backbone, head, ssfm=ssfm, normalize_attention=normalize_attention,
                         **kwargs)
        if isinstance(tfcm, dict):
            tfcm = dict(tfcm)
            tfcm.setdefault('num_classes', self.num_classes)
        self.tfcm = _build(tfcm)
        if self.tfcm.num_classes != self.num_classes:
            raise ValueError(f'LCAMD: tfcm.num_classes={self.tfcm.num_classes} but the head '
                             f'has {self.num_classes} classes')
        self.loss_sim_max = _build(loss_sim_max)
        self.loss_sim_min = _build(loss_sim_min)

    def _auxiliary_losses(self, feats: Tuple[torch.Tensor, ...],
                          semantic: torch.Tensor) -> Dict[str, torch.Tensor]:
        """CCAM contrast of the attention-pooled fg / bg features (spec §2.2-§2.3)."""
        fg, bg = self.tfcm(semantic, self.raw_attention(feats).flatten(1))
        return dict(loss_sim_max_fg=self.loss_sim_max(fg),
                    loss_sim_max_bg=self.loss_sim_max(bg),
                    loss_sim_min=self.loss_sim_min(bg, fg))
