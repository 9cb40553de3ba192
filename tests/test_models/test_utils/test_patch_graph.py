import torch

from wsol_mm.models.utils.patch_graph import (
    build_patch_laplacian,
    four_neighbour_offsets,
    multi_direction_offsets,
)

# The 40 offsets of LCA-MD listed by hand: axial, diagonal and "knight-like" pairs.
LCA_MD_OFFSETS = (
    [(0, s * d) for d in (1, 2, 3) for s in (1, -1)]
    + [(s * d, 0) for d in (1, 2, 3) for s in (1, -1)]
    + [(sy * d, sx * d) for d in (1, 2, 3) for sy in (1, -1) for sx in (1, -1)]
    + [(sy * a, sx * b) for a, b in ((1, 2), (2, 1), (2, 3), (3, 2))
       for sy in (1, -1) for sx in (1, -1)])


def test_offset_sets():
    assert len(LCA_MD_OFFSETS) == len(set(LCA_MD_OFFSETS)) == 40
    assert set(multi_direction_offsets(3)) == set(LCA_MD_OFFSETS)
    assert [len(multi_direction_offsets(c)) for c in (1, 2, 4)] == [8, 24, 56]
    # cross=2 is the full 5x5 window minus its centre.
    assert set(multi_direction_offsets(2)) == {(y, x) for y in range(-2, 3)
                                               for x in range(-2, 3)} - {(0, 0)}


def test_multi_direction_degrees():
    lap = build_patch_laplacian(14, 14, 'multi_direction', cross=3)
    deg = torch.diagonal(lap).view(14, 14)
    assert deg[7, 7] == 40 and deg[3, 3] == 40
    assert deg[0, 0] == deg[0, 13] == deg[13, 0] == deg[13, 13] == 13
    # Border middle: 40 minus the offsets with dy < 0 (axial 3 + diagonal 6 + knight 8).
    assert deg[0, 7] == 40 - 17
    adj = torch.diag(torch.diagonal(lap)) - lap
    assert torch.equal(adj, adj.t()) and torch.all(torch.diagonal(adj) == 0)
    assert set(adj.unique().tolist()) == {0.0, 1.0}
    assert torch.allclose(lap.sum(dim=1), torch.zeros(196))


def test_multi_direction_pairs_brute_force():
    h, w = 5, 6
    lap = build_patch_laplacian(h, w, 'multi_direction', cross=3)
    offsets = set(LCA_MD_OFFSETS)
    for i in range(h * w):
        for j in range(h * w):
            linked = (j // w - i // w, j % w - i % w) in offsets
            assert lap[i, j].item() == (-1.0 if linked else (0.0 if i != j else lap[i, i]))


def test_four_neighbour_degrees():
    assert set(four_neighbour_offsets()) == {(0, 1), (0, -1), (1, 0), (-1, 0)}
    deg = torch.diagonal(build_patch_laplacian(14, 14, 'four_neighbour')).view(14, 14)
    assert deg[0, 0] == 2 and deg[0, 5] == 3 and deg[5, 5] == 4
    assert int(deg.sum()) == 2 * (2 * 14 * 13)  # twice the number of grid edges


def test_bad_graph():
    import pytest
    with pytest.raises(ValueError, match='unknown graph'):
        build_patch_laplacian(4, 4, 'eight')
    with pytest.raises(ValueError, match='cross'):
        multi_direction_offsets(0)
