"""Hide-and-Seek: the released patch grid, draw order and zeroing, replayed from fixed draws."""
import numpy as np
import pytest
import torch

from wsol_mm.models import HideAndSeek, WSOLDataPreprocessor
from wsol_mm.models.utils import MethodRNG, method_rng
from wsol_mm.structures import WSOLDataSample


def test_keep_mask_hand_computed_non_square():
    # 3 x 5 image, 2-px patches -> 2 x 3 patches (last row / column cut); hidden iff u <= 0.5
    has = HideAndSeek(grid_size=2, drop_rate=0.5)
    draws = np.array([[[0.1, 0.9, 0.5], [0.6, 0.2, 0.51]]])
    expected = torch.tensor([[0, 0, 1, 1, 0],
                             [0, 0, 1, 1, 0],
                             [1, 1, 0, 0, 1]], dtype=torch.bool)
    assert torch.equal(has.keep_mask(draws, 3, 5)[0, 0], expected)


def _released_loop(image: torch.Tensor, grid: int, rate: float, draws: list) -> torch.Tensor:
    """wsolevaluation's HaS on a square batch, written out: image, patch row, patch column."""
    out = image.clone()
    size = image.shape[-1]
    for b in range(image.shape[0]):
        for r in range(0, size, grid):
            for c in range(0, size, grid):
                if draws.pop(0) <= rate:
                    out[b, :, r:min(size, r + grid), c:min(size, c + grid)] = 0.
    return out


def test_call_replays_the_released_order(fixed_draws):
    torch.manual_seed(0)
    image = torch.randn(2, 3, 5, 5, dtype=torch.float64)
    draws = np.linspace(0.02, 0.98, 2 * 3 * 3)[np.random.default_rng(1).permutation(18)]
    has = HideAndSeek(grid_size=2, drop_rate=0.4)
    has.rng = fixed_draws(random=[draws.reshape(2, 3, 3)])
    samples = [WSOLDataSample(), WSOLDataSample()]
    out, out_samples = has(image, samples)
    assert out_samples is samples and has.rng.calls == ['random']
    assert torch.equal(out, _released_loop(image, 2, 0.4, list(draws)))
    hidden = out == 0
    assert 0 < hidden.float().mean() < 1 and torch.equal(out[~hidden], image[~hidden])


def test_grid_zero_and_rate_extremes(fixed_draws):
    image = torch.randn(1, 3, 4, 4)
    has = HideAndSeek(grid_size=0)
    has.rng = fixed_draws()
    assert has(image, [])[0] is image and has.rng.calls == []  # released: returned as is
    everything = HideAndSeek(grid_size=3, drop_rate=1.0)
    assert torch.count_nonzero(everything(image, [])[0]) == 0
    nothing = HideAndSeek(grid_size=3, drop_rate=0.0)
    nothing.rng = fixed_draws(random=[np.full((1, 2, 2), 1e-9)])
    assert torch.equal(nothing(image, [])[0], image)


def test_draws_come_from_the_shared_generator():
    image = torch.ones(2, 1, 8, 8)
    has = HideAndSeek(grid_size=4, drop_rate=0.5)
    method_rng().seed(7, 1)
    first = has(image, [])[0]
    method_rng().seed(7, 1)
    assert torch.equal(has(image, [])[0], first)
    expected = has.keep_mask(MethodRNG(7, 1).random((2, 2, 2)), 8, 8).float()
    assert torch.equal(first, expected)


def test_preprocessor_applies_it_in_training_only():
    pre = WSOLDataPreprocessor(batch_augments=[dict(type='HideAndSeek', grid_size=2,
                                                    drop_rate=1.0)])
    plain = WSOLDataPreprocessor()
    data = dict(inputs=[torch.full((3, 4, 4), 200, dtype=torch.uint8)],
                data_samples=[WSOLDataSample()])
    assert torch.equal(pre(dict(data), training=False)['inputs'],
                       plain(dict(data), training=False)['inputs'])
    assert torch.count_nonzero(pre(dict(data), training=True)['inputs']) == 0


@pytest.mark.parametrize('kwargs', [dict(grid_size=-1), dict(grid_size=2.5),
                                    dict(drop_rate=1.5)])
def test_bad_arguments(kwargs):
    with pytest.raises(ValueError, match='batch_augments'):
        HideAndSeek(**kwargs)
    with pytest.raises(TypeError, match='batch_augments'):
        WSOLDataPreprocessor(batch_augments=dict(type='HideAndSeek'))
