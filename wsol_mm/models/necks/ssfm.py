"""SSFM: the stack of graph-diffusion blocks of LCA-MD (and, configured, of SCM)."""
from typing import Dict, Optional, Sequence, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModule

from wsol_mm.registry import MODELS
from wsol_mm.utils.typing_utils import OptMultiConfig

from ..layers.cross_patch_activation_block import CrossPatchActivationBlock
from ..utils.patch_graph import GRAPH_KINDS, build_patch_laplacian


@MODELS.register_module()
class SSFM(BaseModule):
    """Semantic-spatial fusion module (LCA-MD) / spatial calibration module (SCM).

    ``num_layers`` :class:`CrossPatchActivationBlock` s share one static graph
    Laplacian of the patch grid (built on first use for each grid size, not
    saved in the state dict). A training-time neck of :class:`TSCAMLocalizer`
    (``forward_train``): as released, the logits of the refined map drive the
    classification loss, inference uses the plain class map.

    Defaults are LCA-MD's (40-offset graph, 2 blocks, 16/4 steps, threshold 0.7).
    SCM: ``graph='four_neighbour', num_layers=4, threshold_init=0.5``.

    Args:
        graph (str): ``'multi_direction'`` (LCA-MD) or ``'four_neighbour'`` (SCM).
        cross (int): radius of the multi-direction graph (3 = 40 neighbours).
        num_layers (int): number of blocks.
        num_iters (Sequence[int], optional): Newton-Schulz steps per block;
            defaults to 16 for the first block and 4 for the others.
        threshold_init (float): initial threshold of every block.
        lambda_init (float): initial fusion weight of every block.
        ns_alpha (float): initial Newton-Schulz scale.
        on_divergence (str): ``'fallback'`` or ``'raise'`` (see the block).
        ns_solver (str): ``'auto'``, ``'eigen'``, ``'polynomial'`` or ``'loop'``: how the
            blocks evaluate the Newton-Schulz steps (identical maths; see the block).
            Defaults to 'auto'.
        fallback_check (str): ``'auto'``, ``'host'`` or ``'device'``: where the blocks
            decide the fallback (identical maths; ``'auto'``: no host synchronisation
            on GPUs, see the block). Defaults to 'auto'.
        init_cfg (dict, optional): mmengine init config.
    """

    #: Key prefix of this module in wsol_mm <= 0.1 checkpoints (SCM / LCA-MD localizers).
    legacy_prefix = 'ssfm.'

    def __init__(self, graph: str = 'multi_direction', cross: int = 3, num_layers: int = 2,
                 num_iters: Optional[Sequence[int]] = None, threshold_init: float = 0.7,
                 lambda_init: float = 1.0, ns_alpha: float = 0.002,
                 on_divergence: str = 'fallback', ns_solver: str = 'auto',
                 fallback_check: str = 'auto', init_cfg: OptMultiConfig = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if graph not in GRAPH_KINDS:
            raise ValueError(f'SSFM: unknown graph "{graph}"; use one of {GRAPH_KINDS}')
        if num_iters is None:
            num_iters = [16] + [4] * (num_layers - 1)
        if len(num_iters) != num_layers:
            raise ValueError(f'SSFM: num_iters has {len(num_iters)} entries for '
                             f'num_layers={num_layers}')
        self.graph = graph
        self.cross = cross
        self.layers = nn.ModuleList([
            CrossPatchActivationBlock(k, threshold_init, lambda_init, ns_alpha, on_divergence,
                                      ns_solver, fallback_check) for k in num_iters
        ])
        self._laplacians: Dict[Tuple[int, int, str], torch.Tensor] = {}

    def laplacian(self, height: int, width: int,
                  device: Optional[torch.device] = None) -> torch.Tensor:
        """The ``(h*w, h*w)`` Laplacian of this module's graph, cached per size and device."""
        key = (height, width, str(device))
        if key not in self._laplacians:
            lap = build_patch_laplacian(height, width, self.graph, self.cross)
            self._laplacians[key] = lap.to(device) if device is not None else lap
        return self._laplacians[key]

    @property
    def last_num_fallbacks(self) -> Union[int, torch.Tensor]:
        """Newton-Schulz fallbacks (images x blocks) of the last forward (a 0-dim tensor on
        the device where the blocks check there)."""
        return sum(layer.last_num_fallbacks for layer in self.layers)

    def forward(self, class_map: torch.Tensor,
                activation: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Refine ``class_map`` ``(B, C, h, w)`` with ``activation`` ``(B, h*w)`` in [0, 1].

        Returns:
            tuple: refined class map ``(B, C, h, w)`` and activation ``(B, h*w)``.
        """
        h, w = class_map.shape[-2:]
        lap = self.laplacian(h, w, class_map.device)
        act = activation.reshape(class_map.shape[0], h * w)
        for layer in self.layers:
            class_map, act = layer(class_map, act, lap)
        return class_map, act

    def forward_train(self, maps: torch.Tensor, attention: torch.Tensor,
                      raw_attention: Optional[torch.Tensor] = None
                      ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor]]:
        """Neck interface: the refined class maps and, logged (no ``loss`` in the key),
        the number of images x blocks whose Newton-Schulz iteration fell back.

        Args:
            maps (Tensor): ``(B, C, h, w)`` class maps.
            attention (Tensor): ``(B, 1, h, w)`` min-max normalised attention.
            raw_attention (Tensor, optional): unused.
        """
        refined, _ = self(maps, attention.flatten(1))
        count = self.last_num_fallbacks
        if isinstance(count, torch.Tensor):  # counted on the device: stays there
            fallbacks = count.to(torch.float32)
        else:  # a fill: torch.tensor(..., device=cuda) would be a synchronising copy
            fallbacks = maps.new_full((), float(count), dtype=torch.float32)
        return refined, dict(ssfm_ns_fallbacks=fallbacks)
