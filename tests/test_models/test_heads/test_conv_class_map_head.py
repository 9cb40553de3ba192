import torch

import wsol_mm  # noqa: F401
from wsol_mm.models import CAMLocalizer, ConvClassMapHead
from wsol_mm.structures import WSOLDataSample
from wsol_mm.utils import register_all_modules

register_all_modules()


def test_param_count():
    head = ConvClassMapHead(num_classes=200)
    conv1 = 9 * 768 * 1024 + 1024
    conv2 = 9 * 1024 * 1024 + 1024
    cls = 1024 * 200 + 200
    assert sum(p.numel() for p in head.parameters()) == conv1 + conv2 + cls == 16_722_120


def test_cams_are_class_map_channels():
    head = ConvClassMapHead(num_classes=3, in_channels=2, mid_channels=2).eval()
    # conv1/conv2 = identity on the centre tap, cls_conv = fixed 1x1 mixing.
    for conv in (head.conv1, head.conv2):
        conv.weight.data.zero_()
        conv.bias.data.zero_()
        conv.weight.data[0, 0, 1, 1] = 1
        conv.weight.data[1, 1, 1, 1] = 1
    head.cls_conv.weight.data = torch.tensor([[1., 0.], [0., 1.], [1., 1.]])[:, :, None, None]
    head.cls_conv.bias.data = torch.tensor([0., 0., 1.])
    x = torch.zeros(1, 2, 2, 2)
    x[0, 0, 0, 0] = 4.
    x[0, 1, 1, 1] = 2.
    cams = head.forward_maps((x, )).maps(torch.tensor([[2, 0]]))
    expected_c2 = torch.tensor([[5., 1.], [1., 3.]])
    assert torch.allclose(cams[0, 0], expected_c2)
    assert torch.allclose(cams[0, 1], x[0, 0])
    assert torch.allclose(head((x, )), torch.tensor([[1., 0.5, 2.5]]))


def test_logits_and_cams_share_dropout_in_training():
    torch.manual_seed(0)
    head = ConvClassMapHead(num_classes=4, in_channels=8, mid_channels=16).train()
    feats = (torch.rand(2, 8, 5, 5), )
    out = head.forward_maps(feats)
    logits, cams = out.logits, out.maps(torch.arange(4).repeat(2, 1))
    assert out.pixel_feats.shape == (2, 16, 5, 5)  # the input of cls_conv (DA-WSOL)
    assert torch.allclose(cams.mean(dim=(2, 3)), logits, atol=1e-6)
    loss = head.loss(feats, [WSOLDataSample(gt_label=torch.tensor([1])),
                             WSOLDataSample(gt_label=torch.tensor([3]))])['loss_cls']
    loss.backward()
    assert head.conv1.weight.grad is not None and head.conv1.weight.grad.abs().sum() > 0


def test_inception_localizer_predict():
    model = CAMLocalizer(
        backbone=dict(type='InceptionV3CAM'),
        head=dict(type='ConvClassMapHead', num_classes=5, in_channels=768, mid_channels=32),
        test_cfg=dict(topk_cams=2)).eval()
    sample = WSOLDataSample(gt_label=torch.tensor([3]))
    sample.set_metainfo(dict(img_shape=(64, 64)))
    with torch.no_grad():
        out = model.predict(torch.rand(1, 3, 64, 64), [sample])[0]
    assert out.pred_cam.shape == (64, 64) and out.pred_cams.shape == (2, 64, 64)
    assert out.pred_cam.min() == 0 and out.pred_cam.max() == 1
    assert torch.isclose(out.pred_score.sum(), torch.tensor(1.0))
