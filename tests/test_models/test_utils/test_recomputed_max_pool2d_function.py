"""Max pooling without saved indices: F.max_pool2d's values and gradients, less memory."""
import pytest
import torch
import torch.nn.functional as F

from wsol_mm.models.backbones import VGG16CAM, InceptionV3CAM, ResNetCAM
from wsol_mm.models.layers import RecomputedMaxPool2d
from wsol_mm.models.utils import max_pool2d_recomputed

# InceptionV3CAM's pools: the stem's 3x3/2 with padding and ceil mode, the extra 3x3/2 in
# ceil mode, Mixed_6a's 3x3/1; a 2x2/2 one as VGG16's
CASES = [(3, 2, 1, True), (3, 2, 0, True), (3, 1, 1, False), (2, 2, 0, False)]


def _saved(fn, x):
    """What autograd keeps for ``fn(x)``: (dtype, shares x's storage) per saved tensor."""
    saved = []

    def pack(t):
        saved.append((t.dtype, t.untyped_storage().data_ptr() == x.untyped_storage().data_ptr()))
        return t
    with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
        out = fn(x)
    return out, saved


@pytest.mark.parametrize('kernel,stride,padding,ceil_mode', CASES)
@pytest.mark.parametrize('channels_last', [False, True])
def test_same_values_and_gradients_without_indices(kernel, stride, padding, ceil_mode,
                                                   channels_last):
    gen = torch.Generator().manual_seed(0)
    x = torch.randn(2, 5, 13, 11, generator=gen)
    x[:, :, 4, 4] = x[:, :, 4, 5]  # a tie inside a window: the same one must win
    if channels_last:
        x = x.contiguous(memory_format=torch.channels_last)
    ours, theirs = x.clone().requires_grad_(), x.clone().requires_grad_()
    out, saved = _saved(lambda t: max_pool2d_recomputed(t, kernel, stride, padding, ceil_mode),
                        ours)
    ref, ref_saved = _saved(lambda t: F.max_pool2d(t, kernel, stride, padding,
                                                   ceil_mode=ceil_mode), theirs)
    assert out.grad_fn.name() == 'RecomputedMaxPool2dFunctionBackward'
    # the input only (which the layer before keeps anyway), not F.max_pool2d's int64 indices
    assert saved == [(torch.float32, True)]
    assert (torch.int64, False) in ref_saved
    # a selection, no arithmetic: equal values; the gradient is the same kernel on the same
    # recomputed indices (overlapping windows add in the same order): equal too
    assert torch.equal(out, ref)
    g = torch.randn(out.shape, generator=gen)
    out.backward(g)
    ref.backward(g)
    assert torch.equal(ours.grad, theirs.grad)


def test_untracked_calls_are_plain_max_pooling():
    x = torch.randn(1, 2, 8, 8)
    out = max_pool2d_recomputed(x, 3, 2, 1, True)  # no gradient wanted: nothing recorded
    assert out.grad_fn is None and torch.equal(out, F.max_pool2d(x, 3, 2, 1, ceil_mode=True))
    with torch.no_grad():
        assert max_pool2d_recomputed(x.requires_grad_(), 3, 2, 1, True).grad_fn is None


def test_the_module_is_nn_max_pool2d():
    x = torch.randn(2, 3, 9, 9, requires_grad=True)
    for kwargs in (dict(kernel_size=2, stride=2), dict(kernel_size=3, stride=1, padding=1)):
        out = RecomputedMaxPool2d(**kwargs)(x)
        assert out.grad_fn.name() == 'RecomputedMaxPool2dFunctionBackward'
        assert torch.equal(out, torch.nn.MaxPool2d(**kwargs)(x))
    # what the function does not cover runs nn.MaxPool2d
    out, idx = RecomputedMaxPool2d(2, return_indices=True)(x)
    assert out.grad_fn.name() == 'MaxPool2DWithIndicesBackward0'


@pytest.mark.parametrize('backbone', [InceptionV3CAM, VGG16CAM, ResNetCAM])
def test_cnn_trunks_save_no_pool_indices(backbone):
    """The InceptionV3, VGG16 and ResNet trunks' pools keep no int64 tensor for backward."""
    model = backbone().train()
    x = torch.randn(1, 3, 64, 64)
    dtypes = []
    with torch.autograd.graph.saved_tensors_hooks(lambda t: dtypes.append(t.dtype) or t,
                                                  lambda t: t):
        feats, = model(x)
    assert dtypes and torch.int64 not in dtypes
    feats.sum().backward()
    first = next(p for p in model.parameters() if p.dim() == 4)  # the first convolution
    assert first.grad is not None and first.grad.abs().sum() > 0
