import numpy as np
import pytest
import torch

from wsol_mm.models.necks import TFCM


def _identity_tfcm(num_classes: int, bias) -> TFCM:
    tfcm = TFCM(num_classes)
    with torch.no_grad():
        tfcm.conv.weight.zero_()
        for c in range(num_classes):
            tfcm.conv.weight[c, c, 1, 1] = 1.0
        tfcm.conv.bias.copy_(torch.as_tensor(bias))
    return tfcm


def test_tfcm_soft_pooling_hand_computed():
    # One image, 2 classes on a 2x2 grid; identity projection plus bias (1, -1).
    s = np.array([[[1., 2.], [3., 4.]], [[0., 1.], [0., 2.]]])
    a = np.array([0.5, 2.0, 0.0, 1.5])  # raw summed attention (may exceed 1)
    proj = s.reshape(2, 4) + np.array([[1.], [-1.]])
    fg = (proj * a).sum(1) / 4
    bg = (proj * (1 - a)).sum(1) / 4
    tfcm = _identity_tfcm(2, [1., -1.])
    out_fg, out_bg = tfcm(torch.tensor(s[None], dtype=torch.float32),
                          torch.tensor(a[None], dtype=torch.float32))
    np.testing.assert_allclose(out_fg[0].detach().numpy(), fg, rtol=1e-6)
    np.testing.assert_allclose(out_bg[0].detach().numpy(), bg, rtol=1e-6)
    # fg + bg = plain average of the projected map.
    np.testing.assert_allclose((out_fg + out_bg)[0].detach().numpy(), proj.mean(1), rtol=1e-6)


def test_tfcm_channels_and_gradients():
    tfcm = TFCM(num_classes=7)
    assert tuple(tfcm.conv.weight.shape) == (7, 7, 3, 3)
    s = torch.rand(3, 7, 4, 4, requires_grad=True)
    att = torch.rand(3, 4, 4, requires_grad=True)
    fg, bg = tfcm(s, att)
    assert fg.shape == bg.shape == (3, 7)
    (fg.sum() + 2 * bg.sum()).backward()
    assert s.grad.abs().sum() > 0 and att.grad.abs().sum() > 0
    with pytest.raises(ValueError, match='channels'):
        tfcm(torch.rand(1, 5, 4, 4), torch.rand(1, 16))
