import torch

from wsol_mm.models.heads import ConvCAMHead
from wsol_mm.models.postprocessors import CAMPostProcessor
from wsol_mm.structures import WSOLDataSample
from wsol_mm.utils import register_all_modules

register_all_modules()


def _samples(labels, size=(32, 32)):
    samples = []
    for label in labels:
        s = WSOLDataSample(metainfo=dict(img_shape=size))
        s.set_gt_label(label)
        samples.append(s)
    return samples


def test_conv_cam_head_shapes_logits_and_maps():
    torch.manual_seed(0)
    head = ConvCAMHead(num_classes=4, in_channels=6)
    fmap = torch.rand(2, 6, 5, 5)
    attn = torch.rand(2, 3, 25)
    maps = head.class_maps((fmap, attn))  # in_index=0 picks the patch map
    assert maps.shape == (2, 4, 5, 5)
    torch.testing.assert_close(maps, head.conv(fmap))
    torch.testing.assert_close(head((fmap, attn)), maps.mean(dim=(2, 3)))
    cams = head.forward_maps((fmap, )).maps(torch.tensor([[3, 1], [0, 0]]))
    assert cams.shape == (2, 2, 5, 5)
    torch.testing.assert_close(cams[0, 0], maps[0, 3])
    torch.testing.assert_close(cams[1, 1], maps[1, 0])


def test_conv_cam_head_loss_and_predict():
    torch.manual_seed(1)
    head = ConvCAMHead(num_classes=4, in_channels=6)
    fmap = torch.rand(2, 6, 4, 4)
    samples = _samples([1, 2])
    loss = head.loss((fmap, ), samples)['loss_cls']
    expected = torch.nn.functional.cross_entropy(head((fmap, )), torch.tensor([1, 2]))
    torch.testing.assert_close(loss, expected)
    out = CAMPostProcessor(topk_cams=2, interpolation='bilinear')(
        head.forward_maps((fmap, )), samples)
    assert out[0].pred_cam.shape == (32, 32) and out[0].pred_cams.shape == (2, 32, 32)
    assert out[0].pred_cam.min() == 0 and out[0].pred_cam.max() == 1


def test_logits_from_feats_equal_the_gap_of_the_maps():
    # The GAP of the 3x3 convolution computed from window sums (no maps formed): the same
    # value in float64 up to summation order, gradients included; 1x1 and 5x5 kernels too.
    torch.manual_seed(0)
    for kernel in (1, 3, 5):
        head = ConvCAMHead(num_classes=4, in_channels=6).double()
        head.conv = torch.nn.Conv2d(6, 4, kernel, padding=kernel // 2).double()
        fmap = torch.rand(2, 6, 5, 7, dtype=torch.float64, requires_grad=True)
        fast = head.logits_from_feats((fmap, ))
        (grad_fast, ) = torch.autograd.grad(fast.square().sum(), fmap)
        ref = head.logits_from_maps((fmap, ), head.class_maps((fmap, )))
        (grad_ref, ) = torch.autograd.grad(ref.square().sum(), fmap)
        torch.testing.assert_close(fast, ref, rtol=1e-12, atol=1e-12)
        torch.testing.assert_close(grad_fast, grad_ref, rtol=1e-12, atol=1e-12)
    # A convolution the window sums do not cover (stride 2) takes the maps path.
    head.conv = torch.nn.Conv2d(6, 4, 3, stride=2, padding=1).double()
    torch.testing.assert_close(head.logits_from_feats((fmap, )),
                               head.conv(fmap).mean(dim=(2, 3)))
