import torch

from wsol_mm.models.utils import records_float32


def test_records_float32_only_for_plain_float32_autograd():
    """The backbones' memory-saving training paths apply to float32 autograd as written:
    not without gradients, not for other dtypes, not under autocast."""
    x = torch.zeros(2, 3)
    assert records_float32(x)
    assert not records_float32(x.double()) and not records_float32(x.bfloat16())
    with torch.no_grad():
        assert not records_float32(x)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        assert not records_float32(x)
    assert not records_float32(torch.zeros(2, 3, device='meta'))  # shape-only forwards
