"""SPG (Zhang et al., ECCV 2018): self-produced guidance, as wsolevaluation's ``spg.py``."""
from typing import Optional, Sequence, Tuple

import torch
import torch.nn as nn
import torch.nn.functional as F

from wsol_mm.registry import MODELS
from wsol_mm.structures import ForwardPass
from wsol_mm.utils.typing_utils import SampleList

from ..utils import init_wsol_weights
from ..utils.normalize_tensor import normalize_tensor
from ..utils.precision import at_least_float32


def spg_mask(attention: torch.Tensor, high: float, low: float, min_fg_pixels: int = 30,
             fallback_ratio: float = 0.7) -> Tuple[torch.Tensor, torch.Tensor]:
    """SPG's pixel labels of ``attention (B, 1, H, W)``: ``(target, valid)``.

    As the released ``get_mask``: foreground (1) where ``attention > high``; an image
    with fewer than ``min_fg_pixels`` such pixels uses ``> fallback_ratio * its max``
    instead; background (0) where ``attention < low`` (it wins over foreground); every
    other pixel is ignored (the released 255). NaN pixels are ignored.
    """
    fg = attention > high
    few = fg.flatten(1).sum(1) < min_fg_pixels
    if bool(few.any()):
        peak = attention.flatten(1).amax(1).view(-1, 1, 1, 1)
        fg = torch.where(few.view(-1, 1, 1, 1), attention > peak * fallback_ratio, fg)
    bg = attention < low
    return (fg & ~bg).to(attention.dtype), fg | bg


@MODELS.register_module()
class SPG(nn.Module):
    """Self-produced guidance as a training-method component (``model.methods``).

    Needs an SPG backbone (``ResNetSPGCAM``, ``VGG16SPGCAM``, ``InceptionV3SPGCAM``)
    returning ``(B1 map, B2 map, final map)`` and a class-map head whose pixel features
    are the map the released ``SPG_C`` reads (``Conv1x1ClassMapHead``,
    ``ConvClassMapHead``). Its layers are the released auxiliary branches::

        logits_b1 = SPG_B_shared(SPG_B_1a(B1 map))     (B, 1, h1, w1)
        logits_b2 = SPG_B_shared(SPG_B_2a(B2 map))     (shared weights)
        logits_c  = SPG_C(pixel features)

    Everything is bilinearly upsampled to ``mask_size`` (the network input size by
    default; the release fixes 224, its input size). With ``att`` = the min-max
    normalised GT-class map of the head (detached), ``b2i = sigmoid(logits_b2)`` and
    ``fused = (sigmoid(logits_b1) + b2i) / 2`` (detached), its own terms beside the
    head's ``loss_cls`` (the released sum has unit weights)::

        loss_spg_b2_att = BCE(logits_b2, mask(att,   t1h, t1l))
        loss_spg_b1_b2i = BCE(logits_b1, mask(b2i,   t2h, t2l))
        loss_spg_c1_fus = BCE(logits_c,  mask(fused, t3h, t3l))

    with mean BCE-with-logits over the labelled pixels of the batch (:func:`spg_mask`).
    Inference is the head's (the CAM is its GT-class map); these branches only train
    the shared layers.

    Args:
        b1_channels (int): channels of the B1 map (1024 ResNet50, 512 VGG16, 288 Inception).
        b2_channels (int): channels of the B2 map (1024 ResNet50, 512 VGG16, 768 Inception).
        c_channels (int): channels of the pixel features (2048 ResNet50, 512 VGG16,
            1024 Inception).
        branch_channels (int): width of the B branches (1024 ResNet50, 512 otherwise).
            Defaults to 512.
        c_mid_channels (int): width of ``SPG_C``. Defaults to 512 (released).
        threshold_1h, threshold_1l (float): (high, low) of the B2 mask from the
            attention (``spg_threshold_1h/1l``). Defaults to 0.7, 0.01.
        threshold_2h, threshold_2l (float): B1 mask from ``b2i``. Defaults to 0.5, 0.05.
        threshold_3h, threshold_3l (float): C mask from ``fused``. Defaults to 0.7, 0.1.
        mask_size (Sequence[int], optional): ``(H, W)`` of the masks; None = input size.
        min_fg_pixels (int): foreground fallback count (released 30). Defaults to 30.
        fallback_ratio (float): fallback threshold as a fraction of the image's max
            (released 0.7). Defaults to 0.7.
    """

    def __init__(self,
                 b1_channels: int,
                 b2_channels: int,
                 c_channels: int,
                 branch_channels: int = 512,
                 c_mid_channels: int = 512,
                 threshold_1h: float = 0.7,
                 threshold_1l: float = 0.01,
                 threshold_2h: float = 0.5,
                 threshold_2l: float = 0.05,
                 threshold_3h: float = 0.7,
                 threshold_3l: float = 0.1,
                 mask_size: Optional[Sequence[int]] = None,
                 min_fg_pixels: int = 30,
                 fallback_ratio: float = 0.7) -> None:
        super().__init__()
        self.thresholds = ((threshold_1h, threshold_1l), (threshold_2h, threshold_2l),
                           (threshold_3h, threshold_3l))
        for i, (high, low) in enumerate(self.thresholds, 1):
            if low > high:
                raise ValueError(f'SPG: threshold_{i}l={low} is above threshold_{i}h={high} '
                                 '(key `model.methods`)')
        self.mask_size = tuple(mask_size) if mask_size is not None else None
        self.min_fg_pixels, self.fallback_ratio = min_fg_pixels, fallback_ratio
        self.SPG_B_1a = nn.Sequential(nn.Conv2d(b1_channels, branch_channels, 3, padding=1),
                                      nn.ReLU(inplace=True))
        self.SPG_B_2a = nn.Sequential(nn.Conv2d(b2_channels, branch_channels, 3, padding=1),
                                      nn.ReLU(inplace=True))
        self.SPG_B_shared = nn.Sequential(
            nn.Conv2d(branch_channels, branch_channels, 3, padding=1), nn.ReLU(inplace=True),
            nn.Conv2d(branch_channels, 1, 1))
        self.SPG_C = nn.Sequential(nn.Conv2d(c_channels, c_mid_channels, 3, padding=1),
                                   nn.ReLU(inplace=True), nn.Conv2d(c_mid_channels, 1, 1))
        init_wsol_weights(self, 'xavier')

    def extra_repr(self) -> str:
        return f'thresholds={self.thresholds}, mask_size={self.mask_size}'

    def branch_logits(self, fp: ForwardPass) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
        """``(logits_b1, logits_b2, logits_c)`` at their feature sizes."""
        if len(fp.feats) < 3:
            raise TypeError('SPG needs a backbone that returns (B1 map, B2 map, final map) '
                            '(ResNetSPGCAM, VGG16SPGCAM, InceptionV3SPGCAM); check '
                            '`model.backbone.type`')
        pixels = fp.cams.pixel_feats
        if pixels is None:
            raise TypeError('SPG needs pixel features from the head (Conv1x1ClassMapHead, '
                            'ConvClassMapHead); check `model.head.type`')
        logits_b1 = self.SPG_B_shared(self.SPG_B_1a(fp.feats[0]))
        logits_b2 = self.SPG_B_shared(self.SPG_B_2a(fp.feats[1]))
        return logits_b1, logits_b2, self.SPG_C(pixels)

    def _bce(self, logits: torch.Tensor, source: torch.Tensor, high: float,
             low: float) -> torch.Tensor:
        target, valid = spg_mask(source, high, low, self.min_fg_pixels, self.fallback_ratio)
        if not bool(valid.any()):
            # every pixel unlabelled (all-NaN sources): the release's mean over nothing
            # is NaN; no signal is zero loss here
            return logits.sum() * 0.0
        return F.binary_cross_entropy_with_logits(logits[valid], target[valid])

    def loss(self, fp: ForwardPass, data_samples: SampleList) -> dict:
        """The three guidance terms of one pass (original or zoomed)."""
        labels = fp.require_labels('SPG')
        logits_b1, logits_b2, logits_c = self.branch_logits(fp)
        size = self.mask_size or tuple(fp.inputs.shape[-2:])

        def up(x: torch.Tensor) -> torch.Tensor:
            return F.interpolate(at_least_float32(x), size=size, mode='bilinear',
                                 align_corners=False)

        with torch.autocast(device_type=logits_c.device.type, enabled=False):
            attention = normalize_tensor(up(fp.cams.maps(labels).detach()))
            up_b1, up_b2, up_c = up(logits_b1), up(logits_b2), up(logits_c)
            b2i = torch.sigmoid(up_b2).detach()
            fused = ((torch.sigmoid(up_b1) + b2i) / 2).detach()
            (h1, l1), (h2, l2), (h3, l3) = self.thresholds
            return dict(loss_spg_b2_att=self._bce(up_b2, attention, h1, l1),
                        loss_spg_b1_b2i=self._bce(up_b1, b2i, h2, l2),
                        loss_spg_c1_fus=self._bce(up_c, fused, h3, l3))
