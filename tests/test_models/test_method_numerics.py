"""Every method family reproduces the outputs recorded before the method-layer redesign.

``data/method_numerics.pt`` was recorded (``python tests/test_models/test_method_numerics.py
--record``) from the first-round code, whose numerics were pinned against the released
implementations. Each case builds a model with deterministic weights (a function of the
parameter NAME, so construction order does not matter), runs it in float64 (kernel
differences between CPUs stay ~1e-13, far below the 1e-6 relative tolerance, and no crop box or
k-means assignment can flip) and compares: eval scores and maps of ``predict``, every training
loss term, every parameter's gradient norm and the updated running buffers. Dropout and drop
path are disabled so that only the methods' own random draws (seeded) remain.

Keys that moved in the redesign are translated through ``LEGACY_KEYS`` (loss terms) and the
localizers' checkpoint key map (parameter names), which this test therefore also covers.
"""
import copy
import os.path as osp
import sys
import zlib
from typing import Callable, Dict, List

import pytest
import torch
import torch.nn as nn

from wsol_mm.registry import MODELS
from wsol_mm.structures import WSOLDataSample
from wsol_mm.utils import register_all_modules

register_all_modules()
FIXTURE = osp.join(osp.dirname(__file__), 'data', 'method_numerics.pt')
RTOL, ATOL = 1e-6, 1e-10

_RESNET50 = dict(type='ResNetCAM', depth=50, large_feature_map=True)
_RESNET50_HEAD = dict(type='CAMHead', num_classes=4, in_channels=2048)
_CROP_CAAM = dict(type='CropConsistency', localizer='CAMLocalizer', crop_threshold=0.35,
                  crop_ratio=1.0, loss_pos=1.0, loss_neg=0.1, loss_ratio=0.65,
                  class_agnostic=True)
_DA = dict(type='DomainAdaptation', num_classes=4, feat_channels=2048, beta=0.3,
           universum_weight=2.0, assigner=dict(num_source=4, num_target=4))
_BRID = dict(type='BridgingGap', drop_threshold=0.3, drop_prob=0.5)
_DEIT_T = dict(type='VisionTransformer', arch='deit_t', img_size=64, drop_path_rate=0.0,
               out_cls_attention=True)
_CONV_HEAD = dict(type='ConvCAMHead', num_classes=4, in_channels=192)
_INCEPTION = dict(backbone=dict(type='InceptionV3CAM'),
                  head=dict(type='ConvClassMapHead', num_classes=4, in_channels=768,
                            mid_channels=32))
_VGG16 = dict(backbone=dict(type='VGG16CAM'),
              head=dict(type='CAMHead', num_classes=4, in_channels=1024))
_LCA_MD_HEAD = dict(_CONV_HEAD, loss=dict(type='CrossEntropyLoss', loss_weight=0.6))

# name -> (model config, input size). The recorded outputs came from the first-round
# classes (CAMLocalizer(consistency=...), SCMLocalizer, LCAMD, norm_method=...); these are
# the same models in the composed form.
CASES: Dict[str, tuple] = {
    'cam_resnet50': (dict(type='CAMLocalizer', backbone=_RESNET50, head=_RESNET50_HEAD), 64),
    'cam_vgg16': (dict(type='CAMLocalizer', **_VGG16), 96),
    'cam_inception_v3': (dict(type='CAMLocalizer', **_INCEPTION), 96),
    'crop_resnet50_caam': (dict(_CROP_CAAM, backbone=_RESNET50, head=_RESNET50_HEAD), 64),
    'crop_vgg16_ivr': (dict(type='CropConsistency', localizer='CAMLocalizer', **_VGG16,
                            crop_threshold=0.3, crop_ratio=1.0, crop_with_norm=True,
                            test_cfg=dict(norm=dict(type='IVR', percentile=0.3))), 96),
    'crop_inception_v3_pas': (dict(type='CropConsistency', localizer='CAMLocalizer',
                                   **_INCEPTION, crop_threshold=0.2, crop_ratio=1.0,
                                   test_cfg=dict(norm=dict(type='PaS'))), 96),
    'da_resnet50': (dict(type='CAMLocalizer', backbone=_RESNET50, head=_RESNET50_HEAD,
                         methods=[_DA]), 64),
    'brid_resnet50': (dict(type='CAMLocalizer', backbone=dict(_RESNET50, type='ResNetBridCAM'),
                           head=_RESNET50_HEAD, methods=[_BRID]), 64),
    'da_crop_resnet50': (dict(_CROP_CAAM, backbone=_RESNET50, head=_RESNET50_HEAD,
                              methods=[_DA], other_method_loss_ratio=0.5,
                              crop_method_loss_ratio=0.7), 64),
    'brid_crop_resnet50': (dict(_CROP_CAAM, backbone=dict(_RESNET50, type='ResNetBridCAM'),
                                head=_RESNET50_HEAD, methods=[_BRID], class_agnostic=False,
                                crop_threshold=0.7, other_method_loss_ratio=0.5), 64),
    'tscam_deit_t': (dict(type='TSCAMLocalizer', backbone=_DEIT_T, head=_CONV_HEAD), 64),
    'scm_deit_t': (dict(type='TSCAMLocalizer', backbone=_DEIT_T, head=_CONV_HEAD,
                        normalize_attention=True,
                        neck=dict(type='SSFM', graph='four_neighbour', num_layers=4,
                                  threshold_init=0.5)), 64),
    'lcamd_deit_t': (dict(type='TSCAMLocalizer', backbone=_DEIT_T, normalize_attention=True,
                          head=_LCA_MD_HEAD, neck=[dict(type='TFCM'), dict(type='SSFM')]), 64),
    'lcamd_conformer': (dict(type='TSCAMLocalizer', normalize_attention=True,
                             backbone=dict(type='Conformer', arch='small', depth=3,
                                           drop_path_rate=0.0, out_cls_attention=True),
                             head=dict(type='ConformerCAMHead', num_classes=4, in_channels=384,
                                       cnn_channels=1024,
                                       loss=dict(type='CrossEntropyLoss', loss_weight=0.6)),
                             neck=[dict(type='TFCM'), dict(type='SSFM')]), 64),
}

# Loss-dict keys renamed by the redesign (every component prefixes its own terms):
# recorded name -> current name.
LEGACY_KEYS: Dict[str, str] = {
    'loss_cons': 'loss_crop_cons', 'ce_orig': 'crop_ce_orig', 'ce_zoom': 'crop_ce_zoom',
    'cons_pos': 'crop_cons_pos', 'cons_neg': 'crop_cons_neg', 'loss_drop': 'loss_brid_drop',
    'loss_align_sim': 'loss_brid_align_sim', 'loss_align_norm': 'loss_brid_align_norm',
    'loss_sim_max_fg': 'loss_tfcm_sim_max_fg', 'loss_sim_max_bg': 'loss_tfcm_sim_max_bg',
    'loss_sim_min': 'loss_tfcm_sim_min',
}


def _deterministic_weights(model: nn.Module, key_of: Callable[[str], str]) -> None:
    """Fill every parameter/buffer from a generator seeded by its (legacy) name."""
    state = model.state_dict()
    with torch.no_grad():
        for name, tensor in state.items():
            legacy = key_of(name)
            if tensor.dim() == 0 or not tensor.is_floating_point() or 'assigner' in name:
                continue  # scalars (SSFM thresholds), counters, DA running centres: as built
            g = torch.Generator().manual_seed(zlib.crc32(legacy.encode()))
            noise = torch.randn(tensor.shape, generator=g, dtype=torch.float64)
            if legacy.endswith('running_var'):
                value = 1 + 0.5 * noise.abs()
            elif tensor.dim() == 1 and legacy.endswith('weight'):
                value = 1 + 0.1 * noise  # norm scales
            elif tensor.dim() == 1 or legacy.endswith('running_mean'):
                value = 0.1 * noise
            elif 'pos_embed' in legacy or 'cls_token' in legacy:
                value = 0.02 * noise
            else:  # conv / linear: He-scaled
                value = noise * (2.0 / tensor[0].numel())**0.5
            tensor.copy_(value.to(tensor.dtype))


def _no_dropout(model: nn.Module) -> None:
    for m in model.modules():
        if isinstance(m, nn.Dropout):
            m.p = 0.0
        if type(m).__name__ == 'DropPath':  # timm stochastic depth (not AttentiveDrop)
            m.drop_prob = 0.0
        if type(m).__name__ == 'ConvClassMapHead':  # functional dropout of the SPG head
            m.dropout = 0.0


def _inputs(size: int) -> torch.Tensor:
    g = torch.Generator().manual_seed(7)
    x = torch.randn(2, 3, size, size, generator=g, dtype=torch.float64)
    x[:, :, size // 4:size // 2, size // 8:size // 2] += 2.0  # an object-like region
    return x


def _samples() -> List[WSOLDataSample]:
    # Maps are resized to a small img_shape: the post-processing path is the same and the
    # fixture stays small.
    return [WSOLDataSample(metainfo=dict(img_shape=(24, 32))).set_gt_label(lab)
            for lab in (1, 2)]


def _find(model: nn.Module, cls_name: str) -> List[nn.Module]:
    return [m for m in model.modules() if type(m).__name__ == cls_name]


def _seed_da_centres(model: nn.Module, x: torch.Tensor) -> None:
    """Distinct k-means starts (weak / GAP / strong pixels), so that DA's sets are non-empty."""
    for assigner in _find(model, 'TargetSamplingAssigner'):
        backbone = copy.deepcopy(_find(model, 'ResNetCAM')[0]).train()  # as in the loss pass
        with torch.no_grad():
            pixels = backbone(x)[-1].flatten(2).transpose(1, 2)  # (B, N, D)
            order = pixels.sum(-1).argsort(dim=1)
            pick = lambda idx: pixels.gather(  # noqa: E731
                1, idx[..., None].expand(-1, -1, pixels.shape[-1])).mean(1)
            strong, weak = pick(order[:, -16:]), pick(order[:, :16])
            for i, lab in enumerate((1, 2)):
                assigner.class_centres[lab] = strong[i]
                assigner.class_counts[lab] = 1
            assigner.universum_centre.copy_(weak.mean(0))
            assigner.universum_count.fill_(1)


def _legacy_param_name(model: nn.Module) -> Callable[[str], str]:
    """Current parameter name -> recorded name (identity unless the model maps keys)."""
    to_legacy = getattr(model, 'legacy_key_map', None)
    return to_legacy().get if to_legacy is not None else (lambda k: k)


def run_case(name: str) -> Dict[str, torch.Tensor]:
    """Everything the fixture records for one case, as float64 tensors."""
    cfg, size = CASES[name]
    model = MODELS.build(dict(cfg, test_cfg=dict(cfg.get('test_cfg', {}), topk_cams=2)))
    key_of = _legacy_param_name(model)
    _deterministic_weights(model, lambda k: key_of(k) or k)
    model.double()
    _no_dropout(model)
    out: Dict[str, torch.Tensor] = {}
    x = _inputs(size)
    _seed_da_centres(model, x)
    model.eval()
    with torch.no_grad():
        preds = model.predict(x, _samples())
    for i, s in enumerate(preds):
        out[f'eval/{i}/pred_score'] = s.pred_score.double()
        # maps stored in float32 (fixture size); float32 rounding is 6e-8 relative
        out[f'eval/{i}/pred_cam'] = s.pred_cam.float()
        out[f'eval/{i}/pred_cams'] = s.pred_cams.float()
        out[f'eval/{i}/pred_cam_labels'] = s.pred_cam_labels.double()
    model.train()
    torch.manual_seed(1234)
    losses = model.loss(x, _samples())
    total = sum(v for k, v in losses.items() if 'loss' in k)
    total.backward()
    for key, val in losses.items():
        out[f'train/loss/{key}'] = val.detach().double().reshape(())
    for pname, p in model.named_parameters():
        if p.grad is not None:
            out[f'train/grad_norm/{key_of(pname) or pname}'] = p.grad.norm().double()
    for bname, buf in model.named_buffers():
        if 'assigner' in bname:
            out[f'train/buffer/{key_of(bname) or bname}'] = buf.double()
    return out


@pytest.mark.parametrize('name', sorted(CASES))
def test_method_numerics_unchanged(name):
    recorded = torch.load(FIXTURE, weights_only=True)[name]
    got = run_case(name)
    expected = {}
    for key, val in recorded.items():
        kind, _, rest = key.partition('/loss/')
        if rest:
            key = f'{kind}/loss/{LEGACY_KEYS.get(rest, rest)}'
        expected[key] = val
    assert set(got) == set(expected), (sorted(set(got) ^ set(expected)))
    for key, val in expected.items():
        torch.testing.assert_close(got[key].double(), val.double(), rtol=RTOL, atol=ATOL,
                                   msg=key)


if __name__ == '__main__':
    if '--record' not in sys.argv:
        sys.exit('usage: python tests/test_models/test_method_numerics.py --record '
                 '(only when numerics change on purpose)')
    import os
    os.makedirs(osp.dirname(FIXTURE), exist_ok=True)
    data = {}
    for case in sorted(CASES):
        print('recording', case, flush=True)
        data[case] = {k: v.clone() for k, v in run_case(case).items()}
    torch.save(data, FIXTURE)
    print('wrote', FIXTURE, osp.getsize(FIXTURE) // 1024, 'KiB')
