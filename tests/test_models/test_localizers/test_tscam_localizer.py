import pytest
import torch
import torch.nn as nn

from wsol_mm.models.localizers import TSCAMLocalizer
from wsol_mm.registry import MODELS
from wsol_mm.structures import WSOLDataSample


def test_fusion_on_hand_built_tensors(fixed_backbone, identity_head):
    # 2 classes, 2x2 patches, 2 blocks.
    fmap = torch.tensor([[[[1., 2.], [3., 4.]], [[4., 3.], [2., 1.]]]])
    attn = torch.tensor([[[0.1, 0.2, 0.3, 0.0], [0.1, 0.0, 0.1, 0.4]]])
    model = TSCAMLocalizer(fixed_backbone(fmap, attn), identity_head(2))
    logits, maps = model(torch.zeros(1, 3, 32, 32), mode='tensor')
    torch.testing.assert_close(logits, torch.tensor([[2.5, 2.5]]))
    summed = torch.tensor([[0.2, 0.2], [0.4, 0.4]])  # sum over the 2 blocks
    torch.testing.assert_close(maps[0, 0], summed * fmap[0, 0])
    torch.testing.assert_close(maps[0, 1], summed * fmap[0, 1])
    # LCA-MD variant: attention min-max normalised first.
    model.normalize_attention = True
    _, maps = model(torch.zeros(1, 3, 32, 32), mode='tensor')
    torch.testing.assert_close(maps[0, 0], torch.tensor([[0., 0.], [1., 1.]]) * fmap[0, 0])
    # Only the last block.
    model.normalize_attention = False
    model.attention_layers = [1]
    _, maps = model(torch.zeros(1, 3, 32, 32), mode='tensor')
    torch.testing.assert_close(maps[0, 1], attn[0, 1].view(2, 2) * fmap[0, 1])


def test_predict_writes_gt_and_topk_maps(fixed_backbone, identity_head):
    fmap = torch.tensor([[[[1., 2.], [3., 4.]], [[4., 3.], [2., 0.]], [[0., 0.], [0., 1.]]]])
    attn = torch.tensor([[[1.0, 0.5, 0.5, 0.25]]])
    model = TSCAMLocalizer(fixed_backbone(fmap, attn), identity_head(3),
                           test_cfg=dict(topk_cams=2))
    sample = WSOLDataSample(metainfo=dict(img_shape=(2, 2)))
    sample.set_gt_label(2)
    out = model(torch.zeros(1, 3, 32, 32), [sample], mode='predict')[0]
    # GT class 2: a * S = [[0, 0], [0, 0.25]] -> normalised [[0, 0], [0, 1]].
    torch.testing.assert_close(out.pred_cam, torch.tensor([[0., 0.], [0., 1.]]))
    assert out.pred_cam_labels.tolist() == [0, 1]  # GAP logits 2.5, 2.25, 0.25
    # class 0: a * S = [[1, 1], [1.5, 1]] -> [[0, 0], [1, 0]]
    torch.testing.assert_close(out.pred_cams[0], torch.tensor([[0., 0.], [1., 0.]]))
    assert out.pred_score.shape == (3, )


def test_loss_is_cross_entropy_and_trains_a_real_backbone():
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='TSCAMLocalizer',
        backbone=dict(type='VisionTransformer', arch='deit_t', img_size=32, depth=2),
        head=dict(type='ConvCAMHead', num_classes=3, in_channels=192)))
    model.init_weights()
    samples = []
    for label in (0, 2):
        s = WSOLDataSample(metainfo=dict(img_shape=(32, 32)))
        s.set_gt_label(label)
        samples.append(s)
    x = torch.rand(2, 3, 32, 32)
    losses = model(x, samples, mode='loss')
    assert set(losses) == {'loss_cls'}
    logits = model.head(model.extract_feat(x))
    torch.testing.assert_close(
        losses['loss_cls'], nn.functional.cross_entropy(logits, torch.tensor([0, 2])),
        atol=1e-5, rtol=1e-5)
    losses['loss_cls'].backward()
    assert model.backbone.blocks[0].attn.qkv.weight.grad is not None
    model.eval()
    with torch.no_grad():
        out = model(x, samples, mode='predict')
    assert out[1].pred_cam.shape == (32, 32) and out[1].pred_cams.shape == (3, 32, 32)


def _samples(labels) -> list:
    out = []
    for label in labels:
        s = WSOLDataSample(metainfo=dict(img_shape=(32, 32)))
        s.set_gt_label(label)
        out.append(s)
    return out


def _recorded_rows(model) -> list:
    """Record what each backbone call asked for (``with_rows``, None: the default)."""
    calls, forward = [], model.backbone.forward

    def record(x, with_rows=None):
        calls.append(with_rows)
        return forward(x, with_rows)
    model.backbone.forward = record
    return calls


def test_plain_training_skips_the_rows_with_the_same_loss_and_gradients():
    """No neck, no method: the loss needs no attention, so the backbone skips the rows;
    the loss and every gradient are those of the pass with the rows (stochastic depth on,
    the same seed: the same samples dropped)."""
    torch.manual_seed(0)
    model = MODELS.build(dict(
        type='TSCAMLocalizer',
        backbone=dict(type='VisionTransformer', arch='deit_t', img_size=32, depth=3,
                      drop_path_rate=0.5),
        head=dict(type='ConvCAMHead', num_classes=3, in_channels=192))).train()
    samples, x = _samples([0, 2, 1, 1, 0, 2]), torch.rand(6, 3, 32, 32)
    calls = _recorded_rows(model)
    torch.manual_seed(4)
    fast = model(x, samples, mode='loss')
    fast['loss_cls'].backward()
    grads = [p.grad.clone() for p in model.parameters()]
    model.zero_grad(set_to_none=True)
    torch.manual_seed(4)
    full = model.pass_losses(model.forward_train(x, samples), samples)  # with the rows
    full['loss_cls'].backward()
    assert calls == [False, None]
    assert set(fast) == set(full) == {'loss_cls'}
    torch.testing.assert_close(fast['loss_cls'], full['loss_cls'], rtol=1e-5, atol=1e-6)
    for got, p in zip(grads, model.parameters()):
        torch.testing.assert_close(got, p.grad, rtol=1e-4, atol=1e-6)


def _tiny_deit(**kwargs) -> TSCAMLocalizer:
    """A 2-block DeiT-T TS-CAM localizer on 32 px inputs, 3 classes, seeded."""
    torch.manual_seed(0)
    return MODELS.build(dict(
        type='TSCAMLocalizer',
        backbone=dict(type='VisionTransformer', arch='deit_t', img_size=32, depth=2),
        head=dict(type='ConvCAMHead', num_classes=3, in_channels=192), **kwargs))


def test_a_neck_keeps_the_rows():
    """SCM's SSFM neck reads the attention: the loss asks the backbone for its rows."""
    model = _tiny_deit(neck=dict(type='SSFM'), normalize_attention=True).train()
    calls = _recorded_rows(model)
    losses = model(torch.rand(2, 3, 32, 32), _samples([0, 2]), mode='loss')
    assert calls == [None] and 'loss_cls' in losses


def test_with_necks_the_logits_come_from_the_maps_the_necks_read():
    """A neck forms ``S``: the pass's own logits are its GAP, not a second pooled
    convolution of the patch map (the head's ``logits_from_feats`` is not called)."""
    model = _tiny_deit(neck=dict(type='SSFM'), normalize_attention=True).train()
    x, samples = torch.rand(2, 3, 32, 32), _samples([0, 2])
    pooled_fn, calls = model.head.logits_from_feats, []
    pooled = pooled_fn(model.extract_feat(x))
    model.head.logits_from_feats = lambda feats: calls.append(1) or pooled_fn(feats)
    fp = model.forward_train(x, samples)
    assert calls == []
    maps = model.head.class_maps(fp.feats)
    torch.testing.assert_close(fp.cams.logits, maps.mean(dim=(2, 3)))
    torch.testing.assert_close(fp.cams.logits, pooled, rtol=1e-5, atol=1e-6)  # the same value


def test_contiguous_modules_feed_the_head_nchw():
    """The ViT patch map is a channel-minor view; ``contiguous_modules=['head.conv']`` hands
    the head's convolution an NCHW-contiguous copy (on CPU, outside autocast), same maps."""
    seen = []
    maps = []
    for names in ((), ('head.conv', )):
        model = _tiny_deit(contiguous_modules=list(names)).eval()
        model.head.conv.register_forward_pre_hook(
            lambda mod, args: seen.append(args[0].is_contiguous()))
        with torch.no_grad():
            maps.append(model.head.class_maps(model.extract_feat(torch.rand(2, 3, 32, 32))))
    assert seen == [False, True]
    torch.testing.assert_close(maps[0], maps[1], rtol=1e-5, atol=1e-6)


def test_contiguous_modules_names_a_submodule():
    """A name that is not a submodule stops the build with the config key and an example."""
    with pytest.raises(ValueError, match=r"`model.contiguous_modules`: 'head.conv1' is not a "
                       r'submodule of TSCAMLocalizer'):
        _tiny_deit(contiguous_modules=['head.conv1'])
