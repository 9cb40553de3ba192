"""DA-WSOL (Zhu et al., CVPR 2022): image-to-pixel domain adaptation for CAM localizers."""
import torch
import torch.nn as nn

from wsol_mm.registry import MODELS
from wsol_mm.structures import ForwardPass
from wsol_mm.utils.typing_utils import ConfigType, SampleList

from ..utils.precision import at_least_float32


@MODELS.register_module()
class DomainAdaptation(nn.Module):
    """DA-WSOL as a training-method component (``model.methods``).

    The image (GAP) feature is the source domain, the pixel features the target.
    A :class:`TargetSamplingAssigner` splits each image's pixels into universum /
    source-like / target; the MMD between the source set (GAP feature + source
    pixels) and the target pixels is minimised, and the mean universum feature
    is pushed to zero. Its own terms (beside the head's ``loss_cls``)::

        loss_da_mmd = beta * MMD,   loss_da_univ = u * mean(universum features)

    computed from the pixel features of the pass it is given (the same head pass as
    ``loss_cls``: dropout heads see one mask). Logged: ``da_valid_images`` (images
    with enough source and target pixels for the MMD). Inference is the localizer's.

    Pixel features are the map the classifier pools (``ClassMapOutput.pixel_feats``):
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

    def loss(self, fp: ForwardPass, data_samples: SampleList) -> dict:
        """DA terms of one pass (the original or, under crop consistency, the zoomed one)."""
        labels = fp.require_labels('DomainAdaptation')
        fmap = fp.cams.pixel_feats
        if fmap is None:
            raise TypeError('DomainAdaptation needs pixel features from the head (CAMHead, '
                            'ConvClassMapHead); check `model.head`')
        if fp.cls_logits.shape[1] != self.assigner.num_classes:
            raise ValueError(f'DomainAdaptation: num_classes={self.assigner.num_classes} but '
                             f'the head has {fp.cls_logits.shape[1]} (key `model.methods`)')
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
        return dict(loss_da_mmd=self.beta * mmd, loss_da_univ=self.universum_weight * univ,
                    da_valid_images=valid.sum().float())
