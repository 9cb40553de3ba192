"""DA-WSOL (Zhu et al., CVPR 2022): image-to-pixel domain adaptation for CAM localizers."""
from typing import Tuple

import torch
import torch.nn as nn

from wsol_mm.registry import MODELS
from wsol_mm.utils.typing_utils import ConfigType, SampleList

from ..utils.precision import at_least_float32


@MODELS.register_module()
class DomainAdaptation(nn.Module):
    """DA-WSOL as a ``CAMLocalizer(methods=[...])`` component.

    The image (GAP) feature is the source domain, the pixel features the target.
    A :class:`TargetSamplingAssigner` splits each image's pixels into universum /
    source-like / target; the MMD between the source set (GAP feature + source
    pixels) and the target pixels is minimised, and the mean universum feature
    is pushed to zero. Losses (added to the head's ``loss_cls``)::

        loss_da_mmd = beta * MMD,   loss_da_univ = u * mean(universum features)

    ``loss_cls`` is recomputed from the logits of the same head pass as the
    pixel features (dropout heads: one mask). Logged: ``da_valid_images`` (images
    with enough source and target pixels for the MMD). Inference is the head's.

    Pixel features are the map the classifier pools (``head.forward_features``):
    layer4 for ResNet, conv6 for VGG, the 1024-channel map before ``SPG_A4`` for
    Inception, as released.

    Args:
        num_classes (int): classes of the head (size of the class-centre buffer).
        feat_channels (int): channels of the pixel features (2048 ResNet50,
            1024 VGG16 / InceptionV3).
        beta (float): MMD weight (0.3 ILSVRC / CUB, 0.2 OpenImages).
        universum_weight (float): universum weight u (3 ILSVRC / OpenImages, 2 CUB).
        assigner (dict): extra :class:`TargetSamplingAssigner` options.
        mmd (dict): the MMD loss config. Defaults to ``MultiKernelMMDLoss``.
    """

    def __init__(self,
                 num_classes: int,
                 feat_channels: int,
                 beta: float = 0.3,
                 universum_weight: float = 2.0,
                 assigner: ConfigType = dict(),
                 mmd: ConfigType = dict(type='MultiKernelMMDLoss')) -> None:
        super().__init__()
        self.beta, self.universum_weight = beta, universum_weight
        self.assigner = MODELS.build(dict(type='TargetSamplingAssigner', num_classes=num_classes,
                                          feat_channels=feat_channels, **assigner))
        self.mmd = MODELS.build(mmd)

    def extra_repr(self) -> str:
        return f'beta={self.beta}, universum_weight={self.universum_weight}'

    def _terms(self, localizer: nn.Module, feats: Tuple[torch.Tensor, ...],
               labels: torch.Tensor) -> Tuple[dict, torch.Tensor]:
        head = localizer.head
        if localizer.num_classes != self.assigner.num_classes:
            raise ValueError(f'DomainAdaptation: num_classes={self.assigner.num_classes} but '
                             f'the head has {localizer.num_classes} (key `model.methods`)')
        fmap, logits = head.forward_features(feats)
        if fmap.shape[1] != self.assigner.feat_channels:
            raise ValueError(f'DomainAdaptation: feat_channels={self.assigner.feat_channels} '
                             f'but the pixel features have {fmap.shape[1]} channels '
                             '(key `model.methods`)')
        with torch.autocast(device_type=fmap.device.type, enabled=False):
            pixels = at_least_float32(fmap).flatten(2).transpose(1, 2)  # (B, N, D)
            image = pixels.mean(dim=1)
            assignment, centres = self.assigner.assign(pixels, image, labels)
            if self.training:
                self.assigner.update(centres, image, labels)
            source, target, universum, valid = self.assigner.sample(pixels, image, assignment)
            mmd = self.mmd(source, target)
            univ = universum.mean() if universum.numel() else pixels.sum() * 0.0
        terms = dict(loss_da_mmd=self.beta * mmd, loss_da_univ=self.universum_weight * univ,
                     da_valid_images=valid.sum().float())
        return terms, logits

    def method_loss(self, localizer: nn.Module, inputs: torch.Tensor,
                    data_samples: SampleList, feats: Tuple[torch.Tensor, ...]) -> dict:
        """DA terms of one pass (used by crop consistency on its zoom pass)."""
        labels = torch.cat([s.gt_label for s in data_samples]).to(inputs.device)
        return self._terms(localizer, feats, labels)[0]

    def loss(self, localizer: nn.Module, inputs: torch.Tensor, data_samples: SampleList,
             feats: Tuple[torch.Tensor, ...], losses: dict) -> dict:
        """Add the DA terms; ``loss_cls`` from the same head pass."""
        labels = torch.cat([s.gt_label for s in data_samples]).to(inputs.device)
        terms, logits = self._terms(localizer, feats, labels)
        if 'loss_cls' in losses and hasattr(localizer.head, 'loss_module'):
            losses['loss_cls'] = localizer.head.loss_module(logits, labels)
        losses.update(terms)
        return losses
