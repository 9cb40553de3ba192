import pytest
import torch

from wsol_mm.models import InceptionV3CAM


def _count(module):
    return sum(p.numel() for p in module.parameters())


def test_param_count_equals_torchvision_trunk(tv_models):
    tv = tv_models.inception_v3(weights=None, aux_logits=False, init_weights=False)
    # Same layers as torchvision up to Mixed_6e (padding / stride changes add no
    # parameters); Mixed_7a-c and fc are gone.
    trunk = _count(tv) - sum(_count(getattr(tv, n)) for n in ('Mixed_7a', 'Mixed_7b',
                                                               'Mixed_7c', 'fc'))
    m = InceptionV3CAM()
    assert _count(m) == trunk == 8_965_856
    assert m.out_channels == 768


@pytest.mark.parametrize('large, size', [(False, 14), (True, 28)])
def test_output_shape_224(large, size, meta_forward):
    m, out = meta_forward(InceptionV3CAM, large_feature_map=large)
    assert isinstance(out, tuple) and out[-1].shape == (1, 768, size, size)


def test_modified_layers():
    m = InceptionV3CAM()
    assert m.Conv2d_1a_3x3.conv.padding == (1, 1)
    assert m.Mixed_6a.branch3x3.conv.stride == (1, 1)
    assert m.Mixed_6a.branch3x3dbl_3.conv.padding == (1, 1)
    assert not hasattr(m, 'Mixed_7a') and not hasattr(m, 'AuxLogits')


def test_load_local_torchvision_weights(tmp_path, tv_models):
    tv = tv_models.inception_v3(weights=None, aux_logits=True, init_weights=False)
    path = tmp_path / 'inception_v3.pth'
    torch.save(tv.state_dict(), path)
    m = InceptionV3CAM(pretrained=str(path))
    assert torch.equal(m.Mixed_6a.branch3x3.conv.weight, tv.Mixed_6a.branch3x3.conv.weight)
    assert torch.equal(m.Conv2d_1a_3x3.bn.running_var, tv.Conv2d_1a_3x3.bn.running_var)
    assert not any(k.startswith(('Mixed_7', 'AuxLogits', 'fc')) for k in m.state_dict())


def test_wrong_checkpoint_shape(tmp_path):
    path = tmp_path / 'bad.pth'
    torch.save({'Conv2d_1a_3x3.conv.weight': torch.zeros(32, 3, 5, 5)}, path)
    with pytest.raises(ValueError, match='Conv2d_1a_3x3.conv.weight'):
        InceptionV3CAM(pretrained=str(path))


_BLOCKS = ('Mixed_5b', 'Mixed_5c', 'Mixed_5d', 'Mixed_6b', 'Mixed_6c', 'Mixed_6d', 'Mixed_6e')


def _pair(cls, **kwargs):
    torch.manual_seed(0)
    on = cls(**kwargs).train()
    off = cls(relu_after_cat=False, **kwargs).train()
    off.load_state_dict(on.state_dict())
    return on, off


@pytest.mark.parametrize('cls_name, large', [('InceptionV3CAM', True), ('InceptionV3CAM', False),
                                             ('InceptionV3SPGCAM', True)])
def test_relu_after_cat_same_values_and_gradients(cls_name, large):
    """One ReLU on each block's concatenation: outputs and batch-norm statistics equal to
    torchvision's blocks, gradients up to the summation order of batch norm's backward."""
    from wsol_mm.models import backbones
    on, off = _pair(getattr(backbones, cls_name), large_feature_map=large)
    x = torch.rand(2, 3, 80, 80).contiguous(memory_format=torch.channels_last)
    outs = []
    for model in (on, off):
        out = model(x)
        sum(o.square().mean() for o in out).backward()
        outs.append((out, [p.grad for p in model.parameters()], list(model.buffers())))
    for a, b in zip(outs[0][0], outs[1][0]):
        torch.testing.assert_close(a, b, rtol=0, atol=0)  # the same operations, in order
    for a, b in zip(outs[0][2], outs[1][2]):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
    for a, b in zip(outs[0][1], outs[1][1]):  # float32 sums over batch x pixels
        torch.testing.assert_close(a, b, rtol=1e-4, atol=1e-4 * float(b.abs().max()))


def test_relu_after_cat_keeps_each_block_output_once():
    """Without the per-branch ReLUs' saved outputs, the step keeps at least one block
    output fewer per block (the last block's output has no later layer here); a hook on a
    block (which would not run) keeps torchvision's block."""
    on, off = _pair(InceptionV3CAM, large_feature_map=True)
    x = torch.rand(2, 3, 80, 80)
    sizes = {}
    for name in _BLOCKS:
        getattr(off, name).register_forward_hook(
            lambda m, i, o, name=name: sizes.__setitem__(name, o.numel() * o.element_size()))

    def kept(model):
        storages = {}

        def pack(t):
            storages[t.untyped_storage().data_ptr()] = t.untyped_storage().nbytes()
            return t

        with torch.autograd.graph.saved_tensors_hooks(pack, lambda t: t):
            model(x)
        return sum(storages.values())

    saved_off, saved_on = kept(off), kept(on)  # the hooks on `off` fill `sizes`
    assert saved_off - saved_on >= sum(sizes[n] for n in _BLOCKS[:-1]) > 0
    calls = []
    on.Mixed_5b.register_forward_hook(lambda *args: calls.append(1))
    assert kept(on) - saved_on >= sizes['Mixed_5b'] and len(calls) == 1



@pytest.mark.parametrize('cls_name, large', [('InceptionV3CAM', True), ('InceptionV3CAM', False),
                                             ('InceptionV3SPGCAM', True)])
def test_recompute_bn_relu_same_values_gradients_and_statistics(cls_name, large,
                                                                assert_same_training):
    """ReLU outputs recomputed in the backward pass: outputs, running statistics and
    gradients as torchvision's layers up to float rounding, twice in a row (the second
    step reads the first's running statistics)."""
    from wsol_mm.models import backbones
    torch.manual_seed(0)
    on = getattr(backbones, cls_name)(large_feature_map=large).train()
    off = getattr(backbones, cls_name)(large_feature_map=large, recompute_bn_relu=False).train()
    off.load_state_dict(on.state_dict())
    assert_same_training(on, off, torch.rand(2, 3, 80, 80).contiguous(
        memory_format=torch.channels_last))


def test_recompute_bn_relu_keeps_no_inner_relu_output(saved_bytes):
    """The saved bytes drop by at least the ReLU outputs of the stem layers and of the
    layers inside the blocks' branches; a hook on a layer keeps torchvision's layers."""
    from torchvision.models.inception import BasicConv2d
    torch.manual_seed(0)
    on = InceptionV3CAM(large_feature_map=True).train()
    off = InceptionV3CAM(large_feature_map=True, recompute_bn_relu=False).train()
    off.load_state_dict(on.state_dict())
    x = torch.rand(2, 3, 80, 80)
    probe = InceptionV3CAM(large_feature_map=True, relu_after_cat=False).train()
    inner = ('branch5x5_1', 'branch3x3dbl_1', 'branch3x3dbl_2', 'branch7x7_1', 'branch7x7_2',
             'branch7x7dbl_1', 'branch7x7dbl_2', 'branch7x7dbl_3', 'branch7x7dbl_4')
    sizes = {}
    for name, m in probe.named_modules():  # the stem's and the inner branch layers' outputs
        if isinstance(m, BasicConv2d) and (name.startswith('Conv2d') or (
                not name.startswith('Mixed_6a') and name.endswith(inner))):
            m.register_forward_hook(lambda m, i, o, name=name: sizes.__setitem__(
                name, o.numel() * o.element_size()))
    probe(x)
    saved_off, saved_on = saved_bytes(off, x)[0], saved_bytes(on, x)[0]
    assert len(sizes) == 5 + 3 * 3 + 4 * 6  # stem, Mixed_5b-5d, Mixed_6b-6e
    assert saved_off - saved_on >= sum(sizes.values()) > 0
    calls = []
    on.Conv2d_2a_3x3.register_forward_hook(lambda *args: calls.append(1))
    on.Mixed_5b.branch5x5_1.register_forward_hook(lambda *args: calls.append(2))
    saved_hooked, out = saved_bytes(on, x)
    assert calls == [1, 2] and saved_hooked > saved_on  # hooks run: the modules themselves
    assert out[0].shape == (2, 768, 10, 10)
