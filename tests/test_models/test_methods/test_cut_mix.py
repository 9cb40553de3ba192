"""CutMix: the released box, paste, area-adjusted lambda and mixed loss, from fixed draws."""
import math

import pytest
import torch

from wsol_mm.models import CutMix, WSOLDataPreprocessor
from wsol_mm.registry import MODELS


def test_box_hand_computed():
    # lam 0.75 -> sqrt(0.25) = 0.5 -> 4 x 4 box at (2, 7), clipped at the borders
    assert CutMix.box(0.75, 2, 7, 8, 8) == (0, 5, 4, 8)
    # non-square 6 x 10, lam 0.36 -> 0.8 -> int(4.8) = 4 rows x int(8.0) = 8 columns
    assert CutMix.box(0.36, 3, 1, 6, 10) == (1, 0, 5, 5)
    # lam 1 -> empty box; lam 0 -> the whole image around the centre
    y1, x1, y2, x2 = CutMix.box(1.0, 3, 3, 6, 6)
    assert y1 == y2 and x1 == x2
    assert CutMix.box(0.0, 3, 5, 6, 10) == (0, 0, 6, 10)


def test_call_replays_draws_and_mixes_labels(fixed_draws, label_samples):
    inputs = torch.arange(3 * 6 * 10, dtype=torch.float64).view(3, 1, 6, 10)
    cutmix = CutMix(num_classes=4, beta=1.0, prob=1.0)
    # released order: prob draw, lambda, permutation, centre row, centre column
    cutmix.rng = fixed_draws(random=[0.3], beta=[0.36], permutation=[[2, 0, 1]],
                             integers=[3, 1])
    samples = label_samples([0, 1, 2])
    mixed, out_samples = cutmix(inputs, samples)
    assert cutmix.rng.calls == ['random', 'beta', 'permutation', 'integers', 'integers']
    expected = inputs.clone()
    for i, j in enumerate([2, 0, 1]):
        expected[i, :, 1:5, 0:5] = inputs[j, :, 1:5, 0:5]
    assert torch.equal(mixed, expected) and torch.equal(inputs[0, 0, 0], torch.arange(10.))
    lam = 1 - 20 / 60  # kept area of the 4 x 5 box
    scores = torch.stack([s.gt_score for s in out_samples])
    assert torch.allclose(scores, torch.tensor([[lam, 0, 1 - lam, 0], [1 - lam, lam, 0, 0],
                                                [0, 1 - lam, lam, 0]], dtype=torch.float64),
                          rtol=0, atol=1e-15)
    assert [int(s.gt_label) for s in out_samples] == [0, 1, 2]  # maps keep the own label


def test_not_mixed_without_the_probability_or_beta(fixed_draws, label_samples):
    inputs = torch.randn(2, 3, 4, 4)
    cutmix = CutMix(num_classes=3, prob=0.5)
    cutmix.rng = fixed_draws(random=[0.5])  # released: mixes iff prob > u
    out, samples = cutmix(inputs, label_samples([0, 1]))
    assert out is inputs and cutmix.rng.calls == ['random']
    assert all('gt_score' not in s for s in samples)
    off = CutMix(num_classes=3, beta=0.0)
    off.rng = fixed_draws(random=[0.0])
    assert off(inputs, label_samples([0, 1]))[0] is inputs


def _ce(logits: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
    """Mean cross entropy written out: logsumexp - logit of the label."""
    return (torch.logsumexp(logits, 1) - logits[torch.arange(len(labels)), labels]).mean()


def test_head_loss_is_the_released_mixed_loss(fixed_draws, label_samples):
    head = MODELS.build(dict(type='CAMHead', num_classes=5, in_channels=3)).double()
    logits = torch.tensor([[2.0, -1.0, 0.5, 0.0, 1.0], [0.1, 0.2, 0.3, -2.0, 4.0],
                           [-1.0, 3.0, 0.0, 0.5, 0.5]], dtype=torch.float64)
    labels = torch.tensor([4, 1, 1])
    cutmix = CutMix(num_classes=5)
    cutmix.rng = fixed_draws(random=[0.0], beta=[0.5], permutation=[[1, 2, 0]],
                             integers=[2, 2])
    _, samples = cutmix(torch.zeros(3, 1, 4, 4), label_samples(labels.tolist()))
    y1, x1, y2, x2 = CutMix.box(0.5, 2, 2, 4, 4)
    lam = 1 - (y2 - y1) * (x2 - x1) / 16
    expected = lam * _ce(logits, labels) + (1 - lam) * _ce(logits, labels[[1, 2, 0]])
    loss = head.loss_by_logits(logits, samples)['loss_cls']
    assert loss.dtype == torch.float64 and math.isclose(loss.item(), expected.item(),
                                                        rel_tol=1e-12)
    # without mixing the head keeps the hard-label loss
    plain = head.loss_by_logits(logits, label_samples(labels.tolist()))['loss_cls']
    assert math.isclose(plain.item(), _ce(logits, labels).item(), rel_tol=1e-12)


def test_num_classes_mismatch_is_reported(fixed_draws, label_samples):
    cutmix = CutMix(num_classes=2)
    cutmix.rng = fixed_draws(random=[0.0], beta=[0.5], permutation=[[0, 1]], integers=[1, 1])
    with pytest.raises(ValueError, match='num_classes'):
        cutmix(torch.zeros(2, 1, 4, 4), label_samples([0, 3]))
    head = MODELS.build(dict(type='CAMHead', num_classes=3, in_channels=2))
    cutmix.rng = fixed_draws(random=[0.0], beta=[0.5], permutation=[[0, 1]], integers=[1, 1])
    _, samples = cutmix(torch.zeros(2, 1, 4, 4), label_samples([0, 1]))
    with pytest.raises(ValueError, match='num_classes'):
        head.loss_by_logits(torch.zeros(2, 3), samples)
    with pytest.raises(ValueError, match='batch_augments'):
        CutMix(num_classes=0)


def test_preprocessor_builds_it_and_skips_it_in_eval(label_samples):
    pre = WSOLDataPreprocessor(batch_augments=[dict(type='CutMix', num_classes=3)])
    assert isinstance(pre.batch_augments[0], CutMix)
    data = dict(inputs=[torch.zeros(3, 4, 4, dtype=torch.uint8)] * 2,
                data_samples=label_samples([0, 1]))
    out = pre(data, training=False)
    assert all('gt_score' not in s for s in out['data_samples'])


def test_cross_entropy_soft_targets_equal_hard_labels_when_one_hot():
    loss = MODELS.build(dict(type='CrossEntropyLoss', loss_weight=0.5))
    logits = torch.tensor([[1.0, 2.0, -1.0], [0.0, 0.5, 3.0]], dtype=torch.float64)
    hard = loss(logits, torch.tensor([1, 2]))
    soft = loss(logits, torch.tensor([[0., 1., 0.], [0., 0., 1.]], dtype=torch.float32))
    assert soft.dtype == torch.float64 and math.isclose(soft.item(), hard.item(), rel_tol=1e-12)
    assert math.isclose(hard.item(), 0.5 * _ce(logits, torch.tensor([1, 2])).item(),
                        rel_tol=1e-12)
