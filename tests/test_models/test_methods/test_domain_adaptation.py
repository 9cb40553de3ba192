"""DA-WSOL: MMD, target sampling assigner, running centres, component."""
import math

import pytest
import torch
from mmengine.runner import load_checkpoint, save_checkpoint

from wsol_mm.registry import MODELS


def test_mmd_hand_computed():
    mmd = MODELS.build(dict(type='MultiKernelMMDLoss'))
    src, tgt = torch.zeros(1, 2, 1), torch.ones(1, 2, 1)
    # pooled d2: 8 cross entries of 1 over 12 off-diagonal -> b = 2/3, / 2**2 -> 1/6
    sigma = sum(math.exp(-1 / bw) for bw in (1 / 6, 1 / 3, 2 / 3, 4 / 3, 8 / 3))
    assert mmd(src, tgt).item() == pytest.approx(10 - 2 * sigma, rel=1e-5)
    same = torch.tensor([[[0.], [1.]]])
    assert mmd(same, same.clone()).item() == pytest.approx(0, abs=1e-6)
    single = MODELS.build(dict(type='MultiKernelMMDLoss', num_kernels=1))
    assert single(src, tgt).item() == pytest.approx(2 - 2 * math.exp(-1.5), rel=1e-5)
    assert mmd(torch.zeros(0, 2, 3), torch.zeros(0, 2, 3)).item() == 0


def _assigner(**kw):
    return MODELS.build(dict(type='TargetSamplingAssigner', num_classes=3, feat_channels=2, **kw))


def _pixels():
    pts = [[0., 0.]] * 4 + [[5., 0.]] * 3 + [[0., 5.]] * 2
    return torch.tensor(pts)[None]  # (1, 9, 2)


def test_assigner_kmeans_and_running_update():
    tsa = _assigner()
    tsa.class_centres[1] = torch.tensor([0., 4.])
    tsa.class_counts[1] = 3
    tsa.universum_centre.copy_(torch.tensor([0.5, 0.]))
    tsa.universum_count.fill_(1)
    image = torch.tensor([[4., 0.]])
    assign, centres = tsa.assign(_pixels(), image, torch.tensor([1]))
    assert assign.tolist() == [[0] * 4 + [1] * 3 + [2] * 2]
    assert torch.allclose(centres[0], torch.tensor([[0., 0.], [5., 0.], [0., 5.]]))
    tsa.update(centres, image, torch.tensor([1]))
    assert torch.allclose(tsa.class_centres[1], torch.tensor([1.25, 3.]))  # (3*(0,4)+(5,0))/4
    assert torch.allclose(tsa.universum_centre, torch.tensor([0.25, 0.]))
    assert tsa.class_counts.tolist() == [0, 4, 0] and tsa.universum_count.item() == 2


def test_assigner_seeds_unseen_class_and_batches_like_single_images():
    tsa = _assigner()
    g = torch.tensor([[1., 1.], [3., 3.]])
    centres = torch.zeros(2, 3, 2)
    centres[:, 1] = torch.tensor([[2., 0.], [4., 0.]])
    tsa.update(centres, g, torch.tensor([0, 0]))
    # first image's GAP counted once, then the two source centres
    assert torch.allclose(tsa.class_centres[0], torch.tensor([(1 + 2 + 4) / 3, 1 / 3]))
    assert tsa.class_counts[0].item() == 3
    x = torch.randn(2, 16, 2) + torch.tensor([[[0., 0.]], [[3., 1.]]])
    labels = torch.tensor([0, 2])
    both, _ = tsa.assign(x, x.mean(1), labels)
    for i in range(2):
        one, _ = tsa.assign(x[i:i + 1], x[i:i + 1].mean(1), labels[i:i + 1])
        assert torch.equal(one[0], both[i])


def test_assigner_sampling_sets_and_gradient():
    tsa = _assigner(num_source=3, num_target=2)
    pixels = torch.arange(18.).reshape(1, 9, 2).requires_grad_()
    assign = torch.tensor([[0, 0, 1, 1, 1, 1, 2, 2, 0]])
    image = torch.tensor([[9., 9.]])
    src, tgt, uni, valid = tsa.sample(pixels, image, assign)
    assert valid.tolist() == [True] and src.shape == (1, 3, 2) and tgt.shape == (1, 2, 2)
    assert torch.equal(src[0, 0], image[0])
    src_rows = {tuple(r) for r in pixels[0, 2:6].tolist()}
    assert all(tuple(r) in src_rows for r in src[0, 1:].tolist())
    assert {tuple(r) for r in tgt[0].tolist()} == {tuple(r) for r in pixels[0, 6:8].tolist()}
    assert uni.shape == (3, 2)
    (src.sum() + tgt.sum() + uni.sum()).backward()
    assert pixels.grad[0, 6].abs().sum() > 0
    few = tsa.sample(pixels, image, torch.tensor([[0, 0, 1, 1, 1, 1, 2, 0, 0]]))
    assert few[3].tolist() == [False] and few[0].shape[0] == 0


def _model(**kw):
    return MODELS.build(dict(
        type='CAMLocalizer', backbone=dict(type='ResNetCAM', depth=18),
        head=dict(type='CAMHead', num_classes=3, in_channels=512),
        methods=[dict(type='DomainAdaptation', num_classes=3, feat_channels=512,
                      beta=0.3, universum_weight=2.0,
                      assigner=dict(num_source=4, num_target=4), **kw)]))


def test_component_losses_and_centres_persist(tmp_path, label_samples):
    torch.manual_seed(0)
    model = _model()
    losses = model.loss(torch.rand(2, 3, 96, 96), label_samples([0, 2]))
    assert {'loss_cls', 'loss_da_mmd', 'loss_da_univ', 'da_valid_images'} <= set(losses)
    total = sum(v for k, v in losses.items() if k.startswith('loss_'))
    total.backward()
    assert model.backbone.layer4[0].conv1.weight.grad.abs().sum() > 0
    tsa = model.methods[0].assigner
    assert tsa.class_counts.tolist() == [2, 0, 2] and tsa.universum_count.item() == 2
    # state-dict round trip and mmengine checkpoint save / load
    state = {k: v.clone() for k, v in model.state_dict().items()}
    assert 'methods.0.assigner.class_centres' in state
    path = str(tmp_path / 'da.pth')
    save_checkpoint(dict(state_dict=model.state_dict()), path)
    fresh = _model()
    assert fresh.methods[0].assigner.class_counts.sum() == 0
    load_checkpoint(fresh, path, strict=True)
    for key in ('class_centres', 'class_counts', 'universum_centre', 'universum_count'):
        assert torch.equal(getattr(fresh.methods[0].assigner, key),
                           state[f'methods.0.assigner.{key}'])


def test_component_checks_num_classes_and_channels(label_samples):
    model = _model()
    model.methods[0].assigner.num_classes = 5
    with pytest.raises(ValueError, match='num_classes'):
        model.loss(torch.rand(1, 3, 64, 64), label_samples([0]))


def test_inception_head_features():
    head = MODELS.build(dict(type='ConvClassMapHead', num_classes=3, in_channels=8,
                             mid_channels=6))
    head.eval()
    feats = (torch.rand(2, 8, 5, 5), )
    out = head.forward_maps(feats)
    fmap, logits = out.pixel_feats, out.logits
    assert fmap.shape == (2, 6, 5, 5)
    assert torch.allclose(logits, head(feats), atol=1e-6)
