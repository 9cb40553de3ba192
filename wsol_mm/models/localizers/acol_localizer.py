"""ACoL (Zhang et al., CVPR 2018): CAM localizer whose training pass erases with the GT class."""

import torch

from wsol_mm.registry import MODELS
from wsol_mm.structures import ForwardPass
from wsol_mm.utils.typing_utils import OptSampleList

from .base_localizer import gt_labels
from .cam_localizer import CAMLocalizer


@MODELS.register_module()
class ACoLLocalizer(CAMLocalizer):
    """:class:`CAMLocalizer` with an :class:`ACoLHead` (adversarial complementary learning).

    Inference is the head's (logits of branch A; CAM = max of the normalised branch
    maps, branch B on features erased by the requested class). A training pass runs
    branch A once and branch B once, on features erased by the GT class, as
    wsolevaluation's ``main.py`` (labels given to the model); its terms, beside the
    head's ``loss_cls`` of branch A::

        loss_acol_erased = CE(GAP(B(F erased where norm(A[y]) >= t)), y)

    (the released loss is the plain sum of both cross-entropies). The term is the
    pass' own (``ForwardPass.losses``), so crop consistency weights it like any other
    method term. Arguments as :class:`CAMLocalizer`; ``head`` must be an ACoL head.
    """

    def __init__(self, *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        if not callable(getattr(self.head, 'forward_train_maps', None)):
            raise TypeError(f'ACoLLocalizer needs a head with an erased branch (ACoLHead), got '
                            f'{type(self.head).__name__} (key `model.head.type`)')

    def forward_train(self, inputs: torch.Tensor,
                      data_samples: OptSampleList = None) -> ForwardPass:
        """One pass: branch A, branch B on the GT-erased features, and ``loss_acol_erased``."""
        feats = self.extract_feat(inputs)
        labels = gt_labels(data_samples, inputs.device)
        if labels is None:
            raise ValueError('ACoLLocalizer needs `gt_label` in every data sample of a '
                             'training batch (branch B erases the GT-class region)')
        cams, erased_logits = self.head.forward_train_maps(feats, labels)
        fp = ForwardPass(inputs, feats, cams, cams.logits, labels=labels)
        fp.losses['loss_acol_erased'] = self.head.loss_module(erased_logits, labels)
        if self.neck is None:
            fp.backbone_tail = getattr(self.backbone, 'forward_tail', None)
        return fp
