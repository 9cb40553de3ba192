"""The registered CAM normalisers against hand-computed values, both flavours."""
import math

import pytest
import torch

from wsol_mm.models.normalizers import IVRNorm, MaxNorm, MinMaxNorm, PaSNorm
from wsol_mm.registry import MODELS
from wsol_mm.utils import register_all_modules

register_all_modules()
RAMP = torch.arange(10, dtype=torch.float32).view(1, 1, 10)  # one 1x10 map, values 0..9


def _both(norm):
    return (norm, norm.train_norm)


def test_registered_under_short_and_class_names():
    for short, cls in (('MinMax', MinMaxNorm), ('Max', MaxNorm), ('PaS', PaSNorm),
                       ('IVR', IVRNorm)):
        assert type(MODELS.build(dict(type=short))) is cls
        assert type(MODELS.build(dict(type=cls.__name__))) is cls


def test_minmax_and_max_hand_values():
    m = torch.tensor([[[0., 1.], [2., 3.]]])
    for fn in _both(MinMaxNorm()):
        assert torch.allclose(fn(m).flatten(), torch.tensor([0, 1 / 3, 2 / 3, 1.]))
    m = torch.tensor([[[-1., 0.], [1., 3.]]])
    for fn in _both(MaxNorm()):
        assert torch.allclose(fn(m).flatten(), torch.tensor([0, 0, 1 / 3, 1.]))


def test_pas_hand_values():
    # train: q90 of the raw map, torch 'nearest' -> position 8.1 -> value 8.
    exp = torch.clamp(torch.arange(10.) / 8, max=1)
    assert torch.allclose(PaSNorm().train_norm(RAMP).flatten(), exp)
    # final: sorted index floor(0.9 * 10) = 9 of the min-shifted map -> value 9.
    assert torch.allclose(PaSNorm()(RAMP + 5).flatten(), torch.arange(10.) / 9)
    # another quantile: floor(0.5 * 10) = 5 -> value 5, clipped at 1
    assert torch.allclose(PaSNorm(quantile=0.5)(RAMP).flatten(),
                          torch.clamp(torch.arange(10.) / 5, max=1))


def test_ivr_hand_values():
    # train: q30 nearest -> position 2.7 -> value 3; divided by the ORIGINAL max 9.
    exp = torch.clamp(torch.arange(10.) - 3, min=0) / 9
    out = IVRNorm(percentile=0.3).train_norm(RAMP)
    assert torch.allclose(out.flatten(), exp)
    assert math.isclose(out.max().item(), 6 / 9, rel_tol=1e-6)
    # final: sorted index floor(0.3 * 10) = 3 -> value 3; divided by the new max (peak 1).
    exp = torch.clamp(torch.arange(10.) - 3, min=0) / 6
    assert torch.allclose(IVRNorm(percentile=0.3)(RAMP).flatten(), exp)


@pytest.mark.parametrize('norm', [MinMaxNorm(), MaxNorm(), PaSNorm(), IVRNorm()])
def test_nan_and_constant_maps_are_zeros(norm):
    bad = torch.stack([torch.full((4, 4), 2.0), torch.zeros(4, 4), torch.full((4, 4), -1.0),
                       torch.tensor([[float('nan')] + [1.0] * 15]).view(4, 4)])
    for fn in _both(norm):
        assert torch.equal(fn(bad), torch.zeros_like(bad))
    # gradients stay finite through a constant map
    x = torch.full((1, 4, 4), 3.0, requires_grad=True)
    norm.train_norm(x).sum().backward()
    assert torch.isfinite(x.grad).all()


def test_precision_and_bad_arguments():
    half = torch.arange(16, dtype=torch.bfloat16).view(1, 4, 4)
    assert IVRNorm()(half).dtype == torch.float32  # upcast under AMP
    assert MinMaxNorm()(half.double()).dtype == torch.float64  # float64 stays
    with pytest.raises(ValueError, match='test_cfg.norm.percentile'):
        IVRNorm(percentile=1.5)
    with pytest.raises(ValueError, match='quantile'):
        PaSNorm(quantile=-0.1)
    with pytest.raises(KeyError, match='Softmax'):
        MODELS.build(dict(type='Softmax'))
