import torch

import wsol_mm  # noqa: F401
from wsol_mm.models import CAMHead, CAMLocalizer
from wsol_mm.structures import WSOLDataSample
from wsol_mm.utils import register_all_modules

register_all_modules()


def test_vgg_cam_is_fc_weighted_channel_mean():
    model = CAMLocalizer(backbone=dict(type='VGG16CAM'),
                         head=dict(type='CAMHead', num_classes=3, in_channels=1024)).eval()
    x = torch.rand(2, 3, 64, 64)
    with torch.no_grad():
        fmap = model.extract_feat(x)[-1]
        cams = model.head.forward_maps((fmap, )).maps(torch.tensor([[1], [2]]))
    assert fmap.shape == (2, 1024, 4, 4)
    # wsolevaluation: (fc.weight[label][:, None, None] * F).mean(channel)
    ref = (model.head.fc.weight[2][:, None, None] * fmap[1]).mean(0)
    assert torch.allclose(cams[1, 0], ref, atol=1e-6)


def test_forward_maps_one_pass_and_caam():
    head = CAMHead(num_classes=4, in_channels=6)
    feats = (torch.rand(2, 6, 3, 3), )
    cls = torch.tensor([[0, 3], [2, 1]])
    out = head.forward_maps(feats)
    assert torch.equal(out.logits, head(feats)) and out.pixel_feats is feats[-1]
    ref = torch.einsum('bkd,bdhw->bkhw', head.fc.weight[cls], feats[0]) / 6
    assert torch.allclose(out.maps(cls), ref, atol=1e-6)
    # CAAM (Small Object Matters): the channel mean of the pooled map, no classifier
    assert torch.allclose(out.agnostic(), feats[0].mean(1, keepdim=True))
    sample = WSOLDataSample(gt_label=torch.tensor([2]))
    assert set(head.loss((feats[0][:1], ), [sample])) == {'loss_cls'}
