"""TFCM: the token feature contrast module of LCA-MD (a training-time neck)."""
from typing import Dict, Optional, Tuple

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from wsol_mm.registry import MODELS
from wsol_mm.utils.typing_utils import ConfigType, OptMultiConfig

from ..utils.batch_gather import gather_batch
from ..utils.pooled_conv import pooled_conv, pooled_conv_supported
from ..utils.precision import at_least_float32, autocast_off


@MODELS.register_module()
class TFCM(BaseModule):
    """Soft foreground / background pooling of the projected class map, and its contrast.

    LCA-MD's adaptation of CCAM's disentangler: ``S' = conv3x3(S)`` (C -> C) and,
    with ``a`` the raw cls-attention summed over the layers (not normalised, so
    ``1 - a`` may be negative on strongly attended patches, as released)::

        f_fg = mean_n a_n S'_n        f_bg = mean_n (1 - a_n) S'_n

    Both are linear in ``S``, so they are computed as the kernel applied to the
    attention-weighted window sums of ``S`` (:func:`pooled_conv`) without forming
    ``S'``: ~200x fewer products at 14 x 14, the same values up to float rounding, and in
    float32 also under AMP.

    As a training-time neck of :class:`TSCAMLocalizer` it returns its own terms
    ``loss_tfcm_sim_max_fg = SimMax(f_fg)``, ``loss_tfcm_sim_max_bg = SimMax(f_bg)`` and
    ``loss_tfcm_sim_min = SimMin(f_bg, f_fg)`` (the 0.4 of LCA-MD is the losses'
    ``loss_weight``) and leaves the class maps unchanged. These losses rank and pair the
    samples of the batch; the release computes them on its whole ``nn.DataParallel`` batch.
    Under DDP the features of all ranks are gathered first (:func:`gather_batch`, gradients
    to the local rows), so N ranks x B/N samples give the loss and gradient of one batch of B.
    The released code hard-codes 200 channels (CUB only); here it is ``num_classes`` (the
    head's when omitted). Its two unused layers (a 1 -> 1 conv and a BatchNorm) are not rebuilt.

    Args:
        num_classes (int): channels of the class map.
        loss_sim_max (dict): applied to ``f_fg`` and to ``f_bg``. Defaults to LCA-MD's
            ``SimMaxLoss(alpha=0.75, loss_weight=0.4)``.
        loss_sim_min (dict): applied to ``(f_bg, f_fg)``. Defaults to
            ``SimMinLoss(loss_weight=0.4)``.
        gather_ranks (bool): compute the losses on the batch of all DDP ranks (as the
            released single-process batch). False: each rank's own share only.
            Defaults to True.
        init_cfg (dict, optional): mmengine init config (PyTorch default conv init
            as released when None).

    Examples:
        >>> tfcm = TFCM(num_classes=3)
        >>> fg, bg = tfcm(torch.rand(2, 3, 4, 4), torch.rand(2, 16))
        >>> tuple(fg.shape), tuple(bg.shape)
        ((2, 3), (2, 3))
    """

    #: Key prefix of this module in wsol_mm <= 0.1 checkpoints (the LCAMD localizer).
    legacy_prefix = 'tfcm.'

    def __init__(self, num_classes: int,
                 loss_sim_max: ConfigType = dict(type='SimMaxLoss', alpha=0.75,
                                                 loss_weight=0.4),
                 loss_sim_min: ConfigType = dict(type='SimMinLoss', loss_weight=0.4),
                 gather_ranks: bool = True,
                 init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if num_classes <= 0:
            raise ValueError(f'TFCM: num_classes must be positive, got {num_classes}')
        self.num_classes = num_classes
        self.gather_ranks = gather_ranks
        self.conv = nn.Conv2d(num_classes, num_classes, kernel_size=3, padding=1)
        self.loss_sim_max = MODELS.build(loss_sim_max)
        self.loss_sim_min = MODELS.build(loss_sim_min)

    def forward(self, class_map: torch.Tensor,
                attention: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Foreground and background features ``(B, C)`` each.

        Args:
            class_map (Tensor): ``(B, C, h, w)`` semantic map of the conv head.
            attention (Tensor): ``(B, h*w)`` or ``(B, h, w)`` raw summed cls-attention.
        """
        if class_map.shape[1] != self.num_classes:
            raise ValueError(f'TFCM: class map has {class_map.shape[1]} channels, '
                             f'num_classes={self.num_classes} (key `model.neck`)')
        b, _, h, w = class_map.shape
        if attention[0].numel() != h * w:
            raise ValueError(f'TFCM: attention has {attention[0].numel()} patches, class map '
                             f'{h * w}')
        # The pooled features feed the CCAM losses: pool in at least float32.
        weight = at_least_float32(attention).reshape(b, 1, h, w)
        if not pooled_conv_supported(self.conv):
            proj = at_least_float32(self.conv(class_map))  # (B, C, h, w)
            return (proj * weight).mean(dim=(-2, -1)), (proj * (1 - weight)).mean(dim=(-2, -1))
        # Only the two pooled vectors are read: no (B, C, h, w) projection is formed.
        x = at_least_float32(class_map)
        with autocast_off(x):
            pooled = pooled_conv(self.conv, x, torch.cat([weight, 1 - weight], dim=1).to(x.dtype))
        return pooled[:, 0], pooled[:, 1]

    def forward_train(self, maps: torch.Tensor, attention: torch.Tensor,
                      raw_attention: Optional[torch.Tensor] = None
                      ) -> Tuple[None, Dict[str, torch.Tensor]]:
        """Neck interface: no refined maps, the three contrast terms.

        Args:
            maps (Tensor): ``(B, C, h, w)`` class maps.
            attention (Tensor): fusion attention (unused: TFCM pools with the raw one).
            raw_attention (Tensor): ``(B, 1, h, w)`` summed, un-normalised attention.
        """
        if raw_attention is None:
            raise ValueError('TFCM needs the raw cls attention (a TSCAMLocalizer neck)')
        fg, bg = self(maps, raw_attention.flatten(1))
        if self.gather_ranks:  # one collective for both features
            fg, bg = gather_batch(torch.cat([fg, bg], dim=1)).split(fg.shape[1], dim=1)
        return None, dict(loss_tfcm_sim_max_fg=self.loss_sim_max(fg),
                          loss_tfcm_sim_max_bg=self.loss_sim_max(bg),
                          loss_tfcm_sim_min=self.loss_sim_min(bg, fg))
