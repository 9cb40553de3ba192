"""Logits and class maps of one forward pass: what every localizer gives for any class."""
from dataclasses import dataclass
from typing import Callable, Optional

import torch


@dataclass
class ClassMapOutput:
    """The localizer interface: logits plus raw class maps of chosen classes, from ONE pass.

    The maps are raw (not normalised, at the feature-grid size); the CAM post-processor
    resizes and normalises them, crop consistency crops with them. Computing them from
    the same pass as the logits matters for heads with dropout.

    Args:
        logits (Tensor): ``(B, C)`` class logits.
        select_fn (Callable): class indices ``(B, K)`` -> raw maps ``(B, K, h, w)``.
        agnostic_fn (Callable, optional): ``() -> (B, 1, h, w)``: the class-agnostic map
            (Small Object Matters' "CAAM": channel mean of the pooled features, mean of the
            class maps for class-map heads, the attention map for transformers).
        pixel_feats (Tensor, optional): ``(B, D, h, w)`` the map the classifier pools
            (DA-WSOL's target domain); None where a method has no such map.

    Examples:
        >>> maps = torch.rand(2, 3, 4, 4)
        >>> out = ClassMapOutput(maps.mean((2, 3)), lambda c: maps.gather(
        ...     1, c[:, :, None, None].expand(-1, -1, 4, 4)))
        >>> tuple(out.maps(torch.tensor([0, 2])).shape)
        (2, 1, 4, 4)
    """

    logits: torch.Tensor
    select_fn: Callable[[torch.Tensor], torch.Tensor]
    agnostic_fn: Optional[Callable[[], torch.Tensor]] = None
    pixel_feats: Optional[torch.Tensor] = None

    def maps(self, classes: torch.Tensor) -> torch.Tensor:
        """Raw maps ``(B, K, h, w)`` of ``classes`` ``(B, K)`` (or ``(B,)`` -> ``K = 1``)."""
        classes = classes.to(self.logits.device)
        return self.select_fn(classes.view(-1, 1) if classes.dim() == 1 else classes)

    def agnostic(self) -> torch.Tensor:
        """The class-agnostic map ``(B, 1, h, w)``."""
        if self.agnostic_fn is None:
            raise NotImplementedError('this localizer defines no class-agnostic map')
        return self.agnostic_fn()
