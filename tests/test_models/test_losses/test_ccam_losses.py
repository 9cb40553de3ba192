import math

import numpy as np
import pytest
import torch

from wsol_mm.models.losses import SimMaxLoss, SimMinLoss
from wsol_mm.registry import MODELS
from wsol_mm.utils import register_all_modules

EPS = 5e-4


def test_sim_max_hand_computed():
    x = torch.tensor([[1., 0.], [2., 1.], [0., 1.]])
    c01, c12 = 2 / math.sqrt(5), 1 / math.sqrt(5)
    # Similarity matrix after clamping to [5e-4, 1 - 5e-4].
    sim = np.array([[1 - EPS, c01, EPS], [c01, 1 - EPS, c12], [EPS, c12, 1 - EPS]])
    # Ranks per row by decreasing similarity (self first), written by hand.
    rank = np.array([[0, 1, 2], [1, 0, 2], [2, 1, 0]])
    expected = np.mean(np.exp(-0.75 * (rank - 1)) * -np.log(sim))
    loss = SimMaxLoss(alpha=0.75)(x)
    assert loss.item() == pytest.approx(expected, abs=1e-4)
    assert SimMaxLoss(alpha=0.75, loss_weight=0.4)(x).item() == pytest.approx(0.4 * expected,
                                                                              rel=1e-6)


def test_sim_max_scale_invariant_and_grad():
    x = torch.tensor([[1., 0.2, 0.], [0.5, 1., 0.1], [0.1, 0.3, 1.], [1., 1., 1.]],
                     requires_grad=True)
    loss = SimMaxLoss(alpha=0.75)(x)
    assert loss.item() == pytest.approx(SimMaxLoss(alpha=0.75)(3 * x.detach()).item(), rel=1e-5)
    loss.backward()
    assert torch.isfinite(x.grad).all() and x.grad.abs().sum() > 0
    # Pulling together: a step against the gradient lowers the loss.
    with torch.no_grad():
        assert SimMaxLoss(alpha=0.75)(x - 0.05 * x.grad) < loss


def test_sim_min_hand_computed():
    bg = torch.tensor([[1., 0.], [0., 1.]])
    fg = torch.tensor([[1., 1.], [1., 0.]])
    r = 1 / math.sqrt(2)
    sim = np.array([[r, 1 - EPS], [r, EPS]])  # rows: bg_i, columns: fg_j
    expected = np.mean(-np.log(1 - sim))
    assert SimMinLoss()(bg, fg).item() == pytest.approx(expected, abs=1e-4)
    assert SimMinLoss(loss_weight=0.4)(bg, fg).item() == pytest.approx(0.4 * expected, abs=1e-4)


def test_registered():
    register_all_modules()
    loss = MODELS.build(dict(type='SimMaxLoss', alpha=0.5, loss_weight=0.4))
    assert isinstance(loss, SimMaxLoss) and loss.alpha == 0.5
    assert isinstance(MODELS.build(dict(type='SimMinLoss')), SimMinLoss)
