"""SampledMaskDropout: F.dropout's distribution, values, gradient and memory format."""
import pytest
import torch
import torch.nn.functional as F

from wsol_mm.models.heads import ConvClassMapHead
from wsol_mm.models.utils import dropout


@pytest.mark.parametrize('p', [0.5, 0.3, 0.9])
def test_kept_fraction_values_and_gradient(p):
    torch.manual_seed(0)
    x = (torch.rand(4, 8, 125, 250) + 0.5).requires_grad_()  # 1e6 elements, none zero
    y = dropout(x, p, True)
    kept = y.detach() != 0
    # the kept fraction's standard deviation is sqrt(p (1 - p) / 1e6) < 5e-4
    assert abs(kept.double().mean().item() - (1 - p)) < 5e-3
    torch.testing.assert_close(y.detach(), torch.where(kept, x.detach() / (1 - p), 0.0))
    grad = torch.randn_like(y)
    y.backward(grad)
    torch.testing.assert_close(x.grad, torch.where(kept, grad / (1 - p), 0.0))
    assert y.grad_fn.name() == 'SampledMaskDropoutBackward'


def test_same_seed_same_mask_and_memory_format():
    x = torch.rand(2, 16, 7, 7).to(memory_format=torch.channels_last)
    torch.manual_seed(3)
    a = dropout(x, 0.5, True)
    torch.manual_seed(3)
    b = dropout(x, 0.5, True)
    assert torch.equal(a, b) and a.is_contiguous(memory_format=torch.channels_last)


def test_steps_aside_where_f_dropout_is_the_same():
    x = torch.rand(3, 5)
    assert dropout(x, 0.5, False) is x  # evaluation
    assert torch.equal(dropout(x, 0.0, True), x)
    assert torch.equal(dropout(x, 1.0, True), F.dropout(x, 1.0, True))  # all zeros
    assert not dropout(x.requires_grad_(), 1.0, True).detach().any()


def test_inception_head_uses_it_in_cpu_training():
    head = ConvClassMapHead(num_classes=3, in_channels=8, mid_channels=16).train()
    maps = head.class_maps((torch.rand(2, 8, 7, 7, requires_grad=True), ))
    names, level = set(), [maps.grad_fn]
    while level:
        names.update(fn.name() for fn in level)
        level = [nxt for fn in level for nxt, _ in fn.next_functions if nxt is not None]
    assert 'SampledMaskDropoutBackward' in names
    head.eval()
    x = torch.rand(2, 8, 7, 7)
    torch.testing.assert_close(head.class_maps((x, )), head.class_maps((x, )))
