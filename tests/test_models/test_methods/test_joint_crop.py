"""Crop consistency jointly with a method component: ratio * (original + zoom) terms."""
import pytest
import torch
import torch.nn as nn

from wsol_mm.registry import MODELS


class _ConstMethod(nn.Module):
    """Returns loss_x = 1 (logged 5) on the original pass, loss_x = 2 (logged 6) on the zoom
    pass (it tells them apart by the input it is given)."""

    def __init__(self):
        super().__init__()
        self.first_input = None

    def loss(self, fp, data_samples):
        if self.first_input is None:
            self.first_input = fp.inputs
        zoom = fp.inputs is not self.first_input
        return dict(loss_x=torch.tensor(2.0 if zoom else 1.0),
                    logged=torch.tensor(6.0 if zoom else 5.0))


def _model(methods, other=1.0, crop=1.0):
    return MODELS.build(dict(
        type='CropConsistency', localizer='CAMLocalizer',
        backbone=dict(type='ResNetCAM', depth=18),
        head=dict(type='CAMHead', num_classes=3, in_channels=512), methods=methods,
        other_method_loss_ratio=other, crop_method_loss_ratio=crop))


def test_joint_ratios(label_samples):
    torch.manual_seed(0)
    x, samples = torch.rand(2, 3, 64, 64), label_samples([0, 1])
    base = _model([]).eval()
    ref = base.loss(x, samples)
    joint = _model([_ConstMethod()], other=0.5, crop=3.0).eval()
    joint.load_state_dict(base.state_dict())
    out = joint.loss(x, samples)
    assert out['loss_x'].item() == pytest.approx(0.5 * (1 + 2))
    assert out['logged'].item() == 5  # logged values: the original pass, unweighted
    assert out['loss_cls'].item() == pytest.approx(3 * ref['loss_cls'].item(), rel=1e-5)
    assert out['loss_crop_cons'].item() == pytest.approx(3 * ref['loss_crop_cons'].item(),
                                                         rel=1e-5)


@pytest.mark.parametrize('method', [
    dict(type='DomainAdaptation', num_classes=3, feat_channels=512,
         assigner=dict(num_source=4, num_target=4)),
    dict(type='BridgingGap')])
def test_joint_real_methods_run_on_both_passes(method, label_samples):
    torch.manual_seed(0)
    if method['type'] == 'BridgingGap':
        backbone = dict(type='ResNetBridCAM', depth=18)
    else:
        backbone = dict(type='ResNetCAM', depth=18)
    model = MODELS.build(dict(
        type='CropConsistency', localizer=dict(type='CAMLocalizer', backbone=backbone),
        head=dict(type='CAMHead', num_classes=3, in_channels=512), methods=[method]))
    losses = model.loss(torch.rand(2, 3, 96, 96), label_samples([0, 2]))
    total = sum(v for k, v in losses.items() if k.startswith('loss_'))
    assert torch.isfinite(total)
    total.backward()
    if method['type'] == 'DomainAdaptation':
        # two passes of two images each updated the running centres
        assert model.methods[0].assigner.universum_count.item() == 4
