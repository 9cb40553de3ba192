"""Static patch-grid graphs of the SCM / LCA-MD diffusion blocks.

SCM (Bai et al., ECCV 2022) connects each patch to its 4 neighbours; LCA-MD
connects it to a multi-direction neighbourhood of radius ``cross`` (40
offsets for ``cross=3``). Both use the combinatorial Laplacian ``L = D - T``
of the symmetric 0/1 adjacency ``T`` on the row-major flattened grid.
"""
from typing import List, Tuple

import torch

Offset = Tuple[int, int]

GRAPH_KINDS = ('multi_direction', 'four_neighbour')


def multi_direction_offsets(cross: int = 3) -> List[Offset]:
    """Offsets ``(dy, dx)`` of the LCA-MD neighbourhood of radius ``cross``.

    An offset within the ``(2 cross + 1)^2`` window (centre excluded) is kept
    when it is axial, diagonal or a "knight-like" pair whose two distances
    differ by one. ``cross`` = 1, 2, 3, 4 gives 8, 24, 40, 56 neighbours.

    Args:
        cross (int): radius of the neighbourhood, >= 1.
    """
    if cross < 1:
        raise ValueError(f'cross must be >= 1, got {cross}')
    offsets = []
    for dy in range(-cross, cross + 1):
        for dx in range(-cross, cross + 1):
            ay, ax = abs(dy), abs(dx)
            if (ay, ax) == (0, 0):
                continue
            if ay == 0 or ax == 0 or ay == ax or (min(ay, ax) >= 1 and abs(ay - ax) == 1):
                offsets.append((dy, dx))
    return offsets


def four_neighbour_offsets() -> List[Offset]:
    """Offsets of SCM's 4-neighbour graph (``num_connect=4, dilation=1``)."""
    return [(-1, 0), (1, 0), (0, -1), (0, 1)]


def grid_adjacency(height: int, width: int, offsets: List[Offset]) -> torch.Tensor:
    """Dense 0/1 adjacency ``(H*W, H*W)`` of a grid; neighbours are clipped at the border.

    Args:
        height (int): grid rows.
        width (int): grid columns.
        offsets (list[tuple]): ``(dy, dx)`` neighbour offsets (must be symmetric
            for a symmetric graph).
    """
    n = height * width
    adj = torch.zeros(n, n)
    rows = torch.arange(height).view(-1, 1).expand(height, width)
    cols = torch.arange(width).view(1, -1).expand(height, width)
    src = (rows * width + cols).flatten()
    for dy, dx in offsets:
        r, c = rows + dy, cols + dx
        keep = ((r >= 0) & (r < height) & (c >= 0) & (c < width)).flatten()
        adj[src[keep], (r * width + c).flatten()[keep]] = 1.0
    return adj


def graph_laplacian(adjacency: torch.Tensor) -> torch.Tensor:
    """``L = D - T`` with ``D`` the diagonal of in-degrees (column sums of ``T``)."""
    return torch.diag(adjacency.sum(dim=0)) - adjacency


def build_patch_laplacian(height: int, width: int, graph: str = 'multi_direction',
                          cross: int = 3) -> torch.Tensor:
    """Laplacian of the ``graph`` kind on an ``height x width`` patch grid.

    Args:
        height (int): grid rows (14 for 224 px inputs with 16 px patches).
        width (int): grid columns.
        graph (str): ``'multi_direction'`` (LCA-MD) or ``'four_neighbour'`` (SCM).
        cross (int): radius of the multi-direction graph (ignored otherwise).
    """
    if graph == 'multi_direction':
        offsets = multi_direction_offsets(cross)
    elif graph == 'four_neighbour':
        offsets = four_neighbour_offsets()
    else:
        raise ValueError(f'unknown graph "{graph}"; use one of {GRAPH_KINDS}')
    return graph_laplacian(grid_adjacency(height, width, offsets))
