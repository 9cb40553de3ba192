"""ACoL (wsolevaluation ``AcolBase``): erasure, both losses and the released CAM, by hand.

The head is set up so that every map is known exactly: a 2-channel feature map ``(F0, F1)``
passes the two 3x3 convs of each branch unchanged (centre tap 1, ReLU of non-negative
values), branch A's 1x1 conv gives class c the map ``F_c`` and branch B's gives every
class ``F0 + F1`` of its (erased) input.
"""
import math

import pytest
import torch
import torch.nn as nn

from wsol_mm.models import ACoLLocalizer, CropConsistency
from wsol_mm.registry import MODELS
from wsol_mm.structures import WSOLDataSample

F0 = [[0., 3., 7.], [10., 5., 1.]]  # attention F0 / 10: 0.7 and 1.0 are erased (>=)
F1 = [[2., 8., 4.], [0., 6., 10.]]  # attention F1 / 10: 0.8 and 1.0 are erased


class IdentityBackbone(nn.Module):
    """The input is the feature map."""

    def forward(self, x):
        return (x, )


class _TupleOut(nn.Module):
    def forward(self, x):
        return (x, )


def _identity_branch(branch: nn.Sequential, final_weight) -> None:
    with torch.no_grad():
        for conv in (branch[0], branch[2]):
            conv.weight.zero_()
            conv.weight[:, :, 1, 1] = torch.eye(2)
            conv.bias.zero_()
        branch[4].weight.copy_(torch.tensor(final_weight)[:, :, None, None])
        branch[4].bias.zero_()


def _model(threshold: float = 0.7, **kw) -> ACoLLocalizer:
    model = ACoLLocalizer(backbone=IdentityBackbone(),
                          head=dict(type='ACoLHead', num_classes=2, in_channels=2,
                                    mid_channels=2, drop_threshold=threshold),
                          test_cfg=dict(topk_cams=0), **kw).double()
    _identity_branch(model.head.classifier_A, [[1., 0.], [0., 1.]])
    _identity_branch(model.head.classifier_B, [[1., 1.], [1., 1.]])
    return model


def _features(batch: int = 2) -> torch.Tensor:
    return torch.tensor([F0, F1], dtype=torch.float64)[None].repeat(batch, 1, 1, 1)


def _close(actual: torch.Tensor, expected, tol: float = 1e-12) -> bool:
    return torch.allclose(actual.double(), torch.tensor(expected, dtype=torch.float64),
                          rtol=0, atol=tol)


def _samples(labels, shape=(2, 3)):
    return [WSOLDataSample(metainfo=dict(img_shape=shape)).set_gt_label(c) for c in labels]


# By hand. Class 0 erases (0,2), (1,0); class 1 erases (0,1), (1,2). Branch B sees
# S = F0 + F1 = [[2, 11, 11], [10, 11, 11]] with those cells zeroed (max 11).
E0 = [[2., 11., 0.], [0., 11., 11.]]
E1 = [[2., 0., 11.], [10., 11., 0.]]
CAM0 = [[2 / 11, 1., 0.7], [1., 1., 1.]]  # max(F0 / 10, E0 / 11)
CAM1 = [[0.2, 0.8, 1.], [10 / 11, 1., 1.]]  # max(F1 / 10, E1 / 11)


def test_logits_erasure_and_cam_of_any_class():
    model = _model()
    out = model.forward_cams(model.extract_feat(_features(1)))
    assert out.logits[0].tolist() == pytest.approx([26 / 6, 30 / 6])  # GAP of branch A
    feature, maps_a = _features(1), model.head.classifier_A(_features(1))
    assert model.head.erase(feature, maps_a, torch.tensor([0]))[0, 0].tolist() == [
        [0., 3., 0.], [0., 5., 1.]]  # 0.7 itself is erased (>=, as released)
    maps = out.maps(torch.tensor([[0, 1]]))[0]
    assert _close(maps[0], CAM0) and _close(maps[1], CAM1)
    agnostic = out.agnostic()[0, 0]  # mean of branch A's class maps
    assert _close(agnostic, ((torch.tensor(F0) + torch.tensor(F1)) / 2).tolist())


def test_training_losses_by_hand_and_one_pass_per_branch():
    model = _model()
    calls = {'A': 0, 'B': 0}
    model.head.classifier_A.register_forward_hook(lambda *a: calls.__setitem__('A', calls['A'] + 1))
    model.head.classifier_B.register_forward_hook(lambda *a: calls.__setitem__('B', calls['B'] + 1))
    losses = model.loss(_features(), _samples([0, 1]))
    assert set(losses) == {'loss_cls', 'loss_acol_erased'}
    assert calls == {'A': 1, 'B': 1}  # one head pass, branch B erased by the GT classes
    # branch A logits (26/6, 30/6): CE of class 0 and of class 1
    ce_a = (math.log1p(math.exp(4 / 6)) + math.log1p(math.exp(-4 / 6))) / 2
    assert losses['loss_cls'].item() == pytest.approx(ce_a, rel=1e-12)
    # branch B gives every class the same logit: CE = log 2 for both images
    assert losses['loss_acol_erased'].item() == pytest.approx(math.log(2), rel=1e-12)
    erased_b = model.head.forward_train_maps((_features(), ), torch.tensor([0, 1]))[1]
    assert erased_b[:, 0].tolist() == pytest.approx([sum(map(sum, E0)) / 6,
                                                     sum(map(sum, E1)) / 6])
    # the GT-class maps of a training pass reuse that branch-B pass
    fp = model.forward_train(_features(), _samples([0, 1]))
    calls.update(A=0, B=0)
    maps = fp.cams.maps(torch.tensor([0, 1]))
    assert calls == {'A': 0, 'B': 0}
    assert _close(maps[0, 0], CAM0) and _close(maps[1, 0], CAM1)


def test_gradients_reach_both_branches():
    model = _model()
    model.loss(_features(), _samples([0, 1]))['loss_acol_erased'].backward()
    assert model.head.classifier_B[4].weight.grad.abs().sum() > 0
    assert model.head.classifier_A[4].weight.grad is None  # attention is detached
    model.zero_grad()
    fp = model.forward_train(_features(), _samples([0, 1]))
    fp.cams.maps(torch.tensor([0, 1])).sum().backward()  # maps carry gradient (crop)
    assert model.head.classifier_A[4].weight.grad.abs().sum() > 0
    assert model.head.classifier_B[4].weight.grad.abs().sum() > 0


def test_predict_writes_the_released_gt_map():
    model = _model().eval()
    samples = model.predict(_features(), _samples([0, 1]))
    for sample, cam in zip(samples, (CAM0, CAM1)):
        cam = torch.tensor(cam)
        cam = (cam - cam.min()) / (cam.max() - cam.min())  # final min-max at img_shape
        assert _close(sample.pred_cam, cam.tolist(), 1e-6)
    assert samples[0].pred_label == 1 and 'pred_cams' not in samples[0]  # topk_cams=0


def test_constant_map_erases_nothing_and_gives_a_zero_cam():
    # As released: normalize_tensor of a constant map is NaN, NaN >= t is False (nothing
    # erased), the CAM is NaN and the final normalisation makes it zeros.
    model = _model().eval()
    x = _features(1)
    x[:, 0] = 4.0
    feature, maps_a = x, model.head.classifier_A(x)
    assert torch.equal(model.head.erase(feature, maps_a, torch.tensor([0])), x)
    assert torch.isnan(model.forward_cams((x, )).maps(torch.tensor([0]))).all()
    assert model.predict(x, _samples([0]))[0].pred_cam.abs().sum() == 0


def test_threshold_one_erases_only_the_peak_and_bad_values_fail():
    model = _model(threshold=1.0)
    kept = model.head.erase(_features(1), model.head.classifier_A(_features(1)),
                            torch.tensor([0]))
    expected = _features(1)
    expected[:, :, 1, 0] = 0  # only the peak (10) of F0, in every channel
    assert torch.equal(kept, expected)
    with pytest.raises(ValueError, match='drop_threshold'):
        MODELS.build(dict(type='ACoLHead', num_classes=2, in_channels=2, drop_threshold=1.5))
    with pytest.raises(TypeError, match='ACoLHead'):
        ACoLLocalizer(backbone=IdentityBackbone(),
                      head=dict(type='CAMHead', num_classes=2, in_channels=2))
    with pytest.raises(ValueError, match='gt_label'):
        _model().loss(_features(1), [WSOLDataSample(metainfo=dict(img_shape=(2, 3)))])


@pytest.mark.parametrize('arch', ['resnet', 'vgg'])
def test_released_structure_and_init(arch):
    """Branches are conv3x3-ReLU-conv3x3-ReLU-conv1x1 on the trunk map (released names)."""
    in_ch = 2048 if arch == 'resnet' else 512
    with torch.device('meta'):
        head = MODELS.build(dict(type='ACoLHead', num_classes=5, in_channels=in_ch,
                                 init_mode='he' if arch == 'resnet' else 'xavier'))
    shapes = {k: tuple(v.shape) for k, v in head.state_dict().items()}
    for branch in ('classifier_A', 'classifier_B'):
        assert shapes[f'{branch}.0.weight'] == (1024, in_ch, 3, 3)
        assert shapes[f'{branch}.2.weight'] == (1024, 1024, 3, 3)
        assert shapes[f'{branch}.4.weight'] == (5, 1024, 1, 1)
    assert len(shapes) == 12


def test_crop_consistency_on_top_of_acol():
    x = torch.rand(2, 2, 8, 12, dtype=torch.float64, generator=torch.Generator().manual_seed(0))
    samples = _samples([0, 1], shape=(8, 12))

    def crop_losses(ratio):
        return CropConsistency(localizer=_model(), crop_threshold=0.5, crop_ratio=1.0,
                               other_method_loss_ratio=ratio).loss(x * 10, samples)

    half, full = crop_losses(0.5), crop_losses(1.0)
    assert {'loss_cls', 'loss_crop_cons', 'loss_acol_erased'} <= set(half)
    # ratio * (original pass + zoom pass); the original pass' term is the plain model's
    assert half['loss_acol_erased'].item() == pytest.approx(full['loss_acol_erased'].item() / 2)
    plain = _model().loss(x * 10, samples)['loss_acol_erased'].item()
    assert full['loss_acol_erased'].item() > plain
    model = CropConsistency(localizer=_model(), crop_threshold=0.5, crop_ratio=1.0)
    losses = model.loss(x * 10, samples)
    sum(v for k, v in losses.items() if k.startswith('loss')).backward()
    assert model.head.classifier_B[0].weight.grad.abs().sum() > 0
    assert all(torch.isfinite(v).all() for v in losses.values())


def test_lazy_branch_b_under_autocast():
    # A map asked for inside crop consistency's float32 region still runs branch B under the
    # autocast state of its pass (bf16 features from a conv backbone, float32 weights).
    torch.manual_seed(0)
    model = CropConsistency(localizer=ACoLLocalizer(
        backbone=nn.Sequential(nn.Conv2d(3, 4, 1), nn.ReLU(), _TupleOut()),
        head=dict(type='ACoLHead', num_classes=3, in_channels=4, mid_channels=8),
        test_cfg=dict(topk_cams=1)), crop_threshold=0.5, crop_ratio=1.0).eval()
    x = torch.rand(2, 3, 16, 16)
    with torch.autocast('cpu', dtype=torch.bfloat16):
        samples = model.predict(x, _samples([0, 2], shape=(16, 16)))
    assert all(torch.isfinite(s.pred_cam).all() and s.pred_cams.shape == (1, 16, 16)
               for s in samples)
