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
        cams = model.head.get_cams((fmap, ), torch.tensor([[1], [2]]))
    assert fmap.shape == (2, 1024, 4, 4)
    # wsolevaluation: (fc.weight[label][:, None, None] * F).mean(channel)
    ref = (model.head.fc.weight[2][:, None, None] * fmap[1]).mean(0)
    assert torch.allclose(cams[1, 0], ref, atol=1e-6)


def test_get_logits_and_cams_matches_separate_calls():
    head = CAMHead(num_classes=4, in_channels=6)
    feats = (torch.rand(2, 6, 3, 3), )
    cls = torch.tensor([[0, 3], [2, 1]])
    logits, cams = head.get_logits_and_cams(feats, cls)
    assert torch.equal(logits, head(feats)) and torch.equal(cams, head.get_cams(feats, cls))
    sample = WSOLDataSample(gt_label=torch.tensor([2]))
    assert set(head.loss((feats[0][:1], ), [sample])) == {'loss_cls'}
