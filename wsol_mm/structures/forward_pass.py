"""Everything one training pass of a localizer produced, handed to method components."""
from dataclasses import dataclass, field
from typing import Callable, Dict, Optional, Tuple

import torch

from .class_map_output import ClassMapOutput


@dataclass
class ForwardPass:
    """One training forward pass (original or zoomed input) of a localizer.

    Method components (DA-WSOL, Bridging the gap, ...) read what they need from here and
    return their own loss terms; wrappers (crop consistency) run two passes and combine
    them. Nothing here is recomputed by a component: the head ran once.

    Args:
        inputs (Tensor): ``(B, 3, H, W)`` network input of the pass.
        feats (tuple[Tensor]): backbone (+ neck) features.
        cams (ClassMapOutput): logits and class maps (inference semantics).
        cls_logits (Tensor): the logits the classification loss uses (``cams.logits``
            unless a training neck refined the maps first, as SSFM does).
        labels (Tensor, optional): ``(B,)`` GT labels.
        losses (dict): loss terms produced inside the pass (training necks), prefixed.
        backbone_tail (Callable, optional): re-runs a split backbone from its split
            point (``feats[-2]``) to its final map (Bridging the gap).
        class_similarity (Callable, optional): ``pixel map -> (B, C, h, w)`` cosine of
            every pixel feature with every classifier weight (Bridging the gap).
    """

    inputs: torch.Tensor
    feats: Tuple[torch.Tensor, ...]
    cams: ClassMapOutput
    cls_logits: torch.Tensor
    labels: Optional[torch.Tensor] = None
    losses: Dict[str, torch.Tensor] = field(default_factory=dict)
    backbone_tail: Optional[Callable[[torch.Tensor], torch.Tensor]] = None
    class_similarity: Optional[Callable[[torch.Tensor], torch.Tensor]] = None

    def require_labels(self, who: str) -> torch.Tensor:
        """The GT labels, or a clear error naming the component that needs them."""
        if self.labels is None:
            raise ValueError(f'{who} needs `gt_label` in every data sample of the batch')
        return self.labels
