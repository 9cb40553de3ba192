"""SCM: TS-CAM whose class maps are refined by graph diffusion during training."""
from typing import Dict, Tuple

import torch

from wsol_mm.registry import MODELS
from wsol_mm.utils.typing_utils import ConfigType, SampleList

from .base_localizer import build_module as _build
from .tscam_localizer import TSCAMLocalizer

SCM_SSFM = dict(type='SSFM', graph='four_neighbour', num_layers=4, threshold_init=0.5)


@MODELS.register_module()
class SCMLocalizer(TSCAMLocalizer):
    """SCM (Bai et al., ECCV 2022): TS-CAM + spatial calibration in training.

    Training: ``S`` = head class maps, ``a`` = min-max normalised summed cls
    attention; ``X = ssfm(S, a)`` (stacked graph-diffusion blocks) and the
    classification loss is computed on ``logits_from_maps(X)`` (GAP, plus the
    CNN branch for Conformer). Inference is TS-CAM's with the normalised
    attention: ``M = minmax(a) * S``, logits ``GAP(S)`` - the diffusion blocks
    are training-only, as in the released code (spec §2.1, §2.9).

    Args:
        backbone (dict): ViT/Conformer backbone returning the cls attention.
        head (dict): ``ConvCAMHead`` / ``ConformerCAMHead`` config.
        ssfm (dict): diffusion stack; defaults to SCM's (4-neighbour graph,
            4 blocks, threshold 0.5).
        normalize_attention (bool): min-max normalise the attention (the
            diffusion input and the inference map). Defaults to True.
        **kwargs: the remaining ``TSCAMLocalizer`` arguments
            (``attention_layers``, ``data_preprocessor``, ``train_cfg``,
            ``test_cfg``, ``init_cfg``).
    """

    def __init__(self,
                 backbone: ConfigType,
                 head: ConfigType,
                 ssfm: ConfigType = SCM_SSFM,
                 normalize_attention: bool = True,
                 **kwargs) -> None:
        super().__init__(backbone, head, normalize_attention=normalize_attention, **kwargs)
        self.ssfm = _build(ssfm)

    def loss(self, inputs: torch.Tensor, data_samples: SampleList) -> dict:
        """Classification loss of the refined maps (+ ``_auxiliary_losses``)."""
        feats = self.extract_feat(inputs)
        semantic, attention = self._semantic_and_attention(feats)
        refined, _ = self.ssfm(semantic, attention.flatten(1))
        logits = self.head.logits_from_maps(feats, refined.to(semantic.dtype))
        losses = self.head.loss_by_logits(logits, data_samples)
        losses.update(self._auxiliary_losses(feats, semantic))
        # Logged, not summed (no 'loss' in the key): images x blocks that fell back.
        losses['ssfm_ns_fallbacks'] = torch.tensor(float(self.ssfm.last_num_fallbacks),
                                                   device=logits.device)
        return losses

    def _auxiliary_losses(self, feats: Tuple[torch.Tensor, ...],
                          semantic: torch.Tensor) -> Dict[str, torch.Tensor]:
        """Extra training losses of subclasses (none for SCM)."""
        return {}
