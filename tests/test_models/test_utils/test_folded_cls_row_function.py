"""FoldedClsRowFunction: the class-query attention row without keys, and its gradients."""
import pytest
import torch

from wsol_mm.models.utils import FoldedClsRowFunction

B, N, D, HEADS = 3, 7, 12, 3


def _inputs(dtype: torch.dtype, bias: bool = True) -> tuple:
    torch.manual_seed(0)
    normed = torch.randn(B, N, D, dtype=dtype)
    weight = torch.randn(3 * D, D, dtype=dtype) / D**0.5
    return normed, weight, torch.randn(3 * D, dtype=dtype) if bias else None


def _row_from_keys(normed, weight, bias, scale):
    """The released row: queries and keys of every token, softmax of the class query."""
    qkv = torch.nn.functional.linear(normed, weight, bias).view(B, N, 3, HEADS, -1)
    q, k = qkv[:, :, 0].transpose(1, 2), qkv[:, :, 1].transpose(1, 2)  # (B, H, N, D/H)
    return ((q[:, :, :1] * scale) @ k.transpose(-2, -1)).softmax(dim=-1)[:, :, 0].mean(dim=1)


@pytest.mark.parametrize('bias', [True, False])
def test_equals_the_row_from_the_keys(bias):
    """float64: the key bias only shifts every logit of a head alike (1e-12); float32: the
    folded sums round differently, within a few ulps of the row's values."""
    normed, weight, b = _inputs(torch.float64, bias)
    want = _row_from_keys(normed, weight, b, 0.5)
    torch.testing.assert_close(FoldedClsRowFunction.apply(normed, weight, b, 0.5, HEADS), want,
                               rtol=1e-12, atol=1e-12)
    got32 = FoldedClsRowFunction.apply(normed.float(), weight.float(),
                                       None if b is None else b.float(), 0.5, HEADS)
    torch.testing.assert_close(got32.double(), want, rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize('bias', [True, False])
def test_gradients_pass_gradcheck(bias):
    normed, weight, b = _inputs(torch.float64, bias)
    args = [normed.requires_grad_(), weight.requires_grad_()]
    if b is not None:
        args.append(b.requires_grad_())

    def row(*inputs):
        return FoldedClsRowFunction.apply(inputs[0], inputs[1],
                                          inputs[2] if bias else None, 0.7, HEADS)

    assert torch.autograd.gradcheck(row, tuple(args))


def test_gradients_equal_autograd_through_the_keys():
    """Each input's gradient alone (the others constant) is the released row's: the value
    rows and the key bias get exact zeros, as autograd gives them."""
    normed, weight, bias = _inputs(torch.float64)
    grad = torch.randn(B, N, dtype=torch.float64)
    for needs in range(3):
        inputs = [t.clone().requires_grad_(i == needs) for i, t in enumerate((normed, weight,
                                                                              bias))]
        want = torch.autograd.grad((_row_from_keys(*inputs, 0.5) * grad).sum(), inputs[needs])
        got = torch.autograd.grad(
            (FoldedClsRowFunction.apply(*inputs, 0.5, HEADS) * grad).sum(), inputs[needs])
        torch.testing.assert_close(got[0], want[0], rtol=1e-10, atol=1e-12)
        if needs == 1:
            assert torch.equal(got[0][2 * D:], torch.zeros(D, D, dtype=torch.float64))
        if needs == 2:
            assert torch.equal(got[0][D:], torch.zeros(2 * D, dtype=torch.float64))
