"""Offline machines: ImageNet weights from local / cached files, one message when missing.

Every test runs with the network unreachable (``socket.create_connection`` fails, as on an
air-gapped cluster) and with the download functions replaced by ones that fail the test: a
download attempt is a bug, whatever its outcome.
"""
import glob
import os.path as osp
import re
import socket

import pytest
import torch
from mmengine.config import Config

import wsol_mm  # noqa: F401  (compat shims before torchvision / timm)
from wsol_mm.apis import init_localizer
from wsol_mm.apis.preflight import drop_pretrained
from wsol_mm.models.backbones import Conformer, ResNetCAM, VisionTransformer
from wsol_mm.models.backbones.pretrained import hub_cache_path, weights_source
from wsol_mm.models.heads import CAMHead
from wsol_mm.registry import MODELS
from wsol_mm.utils import PretrainedWeightsError, register_all_modules

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
KEY = 'model.backbone.pretrained'


def _download_attempted(*args, **kwargs):
    raise AssertionError(f'a download was attempted: {args[:2]}')


def _unreachable(*args, **kwargs):
    raise OSError('network unreachable (test)')


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No network, empty caches under tmp_path, and every download entry point failing."""
    import huggingface_hub
    import torchvision
    monkeypatch.setattr(socket, 'create_connection', _unreachable)
    monkeypatch.setenv('TORCH_HOME', str(tmp_path / 'torch_home'))
    for name in ('https_proxy', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY'):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setattr(huggingface_hub.constants, 'HF_HUB_CACHE', str(tmp_path / 'hf'))
    monkeypatch.setattr(huggingface_hub.constants, 'HF_HUB_OFFLINE', True)
    monkeypatch.setattr(torch.hub, 'download_url_to_file', _download_attempted)
    monkeypatch.setattr(torch.hub, 'load_state_dict_from_url', _download_attempted)
    monkeypatch.setattr(huggingface_hub, 'hf_hub_download', _download_attempted)
    monkeypatch.setattr(huggingface_hub.file_download, 'hf_hub_download', _download_attempted)
    monkeypatch.setattr(torchvision.models._api, 'load_state_dict_from_url', _download_attempted)
    return tmp_path


def _assert_one_message(err: Exception, file_name: str, key: str = KEY) -> None:
    text = str(err)
    assert '\n' not in text and file_name in text and f'{key}=pretrained/' in text, text


@pytest.mark.parametrize('build, file_name', [
    (lambda: ResNetCAM(depth=50, pretrained='torchvision'), 'resnet50-0676ba61.pth'),
    (lambda: MODELS.build(dict(type='VGG16CAM', pretrained='torchvision')),
     'vgg16-397923af.pth'),
    (lambda: MODELS.build(dict(type='InceptionV3CAM', pretrained='torchvision')),
     'inception_v3_google-0cc3c7bd.pth'),
    (lambda: MODELS.build(dict(type='VGG16ACoLCAM', pretrained='torchvision')),
     'vgg16-397923af.pth'),
    (lambda: MODELS.build(dict(type='ResNetSPGCAM', depth=50, pretrained='torchvision')),
     'resnet50-0676ba61.pth'),
    (lambda: MODELS.build(dict(type='ResNetBridCAM', depth=50, pretrained='torchvision')),
     'resnet50-0676ba61.pth'),
    (lambda: VisionTransformer('deit_t', pretrained=True), 'deit_tiny_patch16_224-a1311bcf.pth'),
    (lambda: VisionTransformer('deit_s', pretrained=True), 'deit_small_patch16_224-cd65a155.pth'),
    (lambda: VisionTransformer('deit_b', pretrained=True), 'deit_base_patch16_224-b5f2ef4d.pth'),
    (lambda: VisionTransformer('vit_s', pretrained=True), 'model.safetensors'),
    (lambda: VisionTransformer('vit_s_legacy', pretrained=True), 'vit_small_p16_224-15ec54c9.pth'),
    (lambda: Conformer(pretrained='pretrained/Conformer_small_patch16.pth'),
     'Conformer_small_patch16.pth'),
    (lambda: Conformer(pretrained=True), 'Conformer_small_patch16.pth'),
])
def test_every_backbone_names_its_file_offline(offline, build, file_name):
    register_all_modules()
    with pytest.raises(PretrainedWeightsError) as err:
        build()
    _assert_one_message(err.value, file_name)


def test_head_fc_message_names_the_head_key(offline):
    with pytest.raises(PretrainedWeightsError) as err:
        CAMHead(num_classes=1000, in_channels=2048, pretrained='torchvision')
    _assert_one_message(err.value, 'resnet50-0676ba61.pth', key='model.head.pretrained')


def _pretrained_values(node) -> list:
    if isinstance(node, dict):
        return [v for k, v in node.items() if k == 'pretrained' and v not in (None, False)] + \
            [x for v in node.values() for x in _pretrained_values(v)]
    if isinstance(node, (list, tuple)):
        return [x for v in node for x in _pretrained_values(v)]
    return []


def test_every_config_fails_with_its_readme_file(offline):
    """Each config needing ImageNet weights fails offline with one message, before its layers
    are built; the file it names and the key are in the README of the config's folder."""
    register_all_modules()
    checked = 0
    for path in sorted(glob.glob(osp.join(REPO_ROOT, 'configs', '*', '*.py'))):
        if '_base_' in path:
            continue
        cfg = Config.fromfile(path)
        if not _pretrained_values(cfg.model):
            continue
        with pytest.raises(PretrainedWeightsError) as err:
            MODELS.build(cfg.model)
        text = str(err.value)
        file_name = re.search(r'Fetch (\S+) \(', text)[1]
        with open(osp.join(osp.dirname(path), 'README.md'), encoding='utf-8') as f:
            readme = f.read()
        assert file_name in readme, f'{path}: README does not name {file_name}'
        assert KEY in readme, f'{path}: README does not name {KEY}'
        found = re.search(r'SHA-256 begins with (\w+)', text)
        assert found is None or found[1] in readme, f'{path}: README lacks the checksum'
        checked += 1
    assert checked > 90


def _save_cached(url: str, state: dict) -> str:
    path = hub_cache_path(url)
    import os
    os.makedirs(osp.dirname(path), exist_ok=True)
    torch.save(state, path)
    return path


def test_torchvision_cache_and_local_files_load_offline(offline):
    ref = ResNetCAM(depth=18)
    tv_state = {'conv1.weight': ref.stem[0].weight, 'fc.weight': torch.randn(1000, 512),
                'fc.bias': torch.randn(1000)}
    tv_state.update({f'bn1.{k}': v for k, v in ref.stem[1].state_dict().items()})
    for stage in ('layer1', 'layer2', 'layer3', 'layer4'):
        tv_state.update({f'{stage}.{k}': v for k, v in getattr(ref, stage).state_dict().items()})
    _save_cached(weights_source('ResNet18_Weights')['url'], tv_state)
    model = ResNetCAM(depth=18, pretrained='torchvision')  # from torch hub's cache
    torch.testing.assert_close(model.layer3[1].conv2.weight, ref.layer3[1].conv2.weight)
    head = CAMHead(num_classes=1000, in_channels=512, pretrained='torchvision',
                   pretrained_arch='resnet18')
    torch.testing.assert_close(head.fc.weight, tv_state['fc.weight'])
    local = offline / 'resnet18.pth'
    torch.save(tv_state, local)
    model = ResNetCAM(depth=18, pretrained=str(local))
    torch.testing.assert_close(model.stem[0].weight, ref.stem[0].weight)


def _tiny_vit(arch: str, **kwargs) -> VisionTransformer:
    return VisionTransformer(arch, img_size=32, depth=1, **kwargs)


def test_transformer_files_load_offline(offline):
    from safetensors.torch import save_file
    ref = _tiny_vit('deit_t')
    state = {'model': dict(ref.state_dict(), **{'head.weight': torch.zeros(1000, 192)})}
    _save_cached(weights_source('deit_t')['url'], state)
    model = _tiny_vit('deit_t', pretrained=True)  # the official DeiT file from the cache
    torch.testing.assert_close(model.blocks[0].attn.qkv.weight, ref.blocks[0].attn.qkv.weight)
    # a local .safetensors file (as downloaded from the Hugging Face Hub)
    save_file({k: v.contiguous() for k, v in ref.state_dict().items()},
              str(offline / 'deit_t.safetensors'))
    model = _tiny_vit('deit_t', pretrained=str(offline / 'deit_t.safetensors'))
    torch.testing.assert_close(model.pos_embed, ref.pos_embed)
    # timm's ViT-S from the Hugging Face cache (HF_HUB_OFFLINE: no request)
    vit = _tiny_vit('vit_s')
    _save_hf_cached(offline, 'timm/vit_small_patch16_224.augreg_in21k_ft_in1k', vit)
    model = _tiny_vit('vit_s', pretrained=True)
    torch.testing.assert_close(model.blocks[0].mlp.fc1.weight, vit.blocks[0].mlp.fc1.weight)
    # DeiT without the torch hub file: timm's Hub copy if the Hugging Face cache has it
    deit = _tiny_vit('deit_b')
    _save_hf_cached(offline, 'timm/deit_base_patch16_224.fb_in1k', deit)
    model = _tiny_vit('deit_b', pretrained=True)
    torch.testing.assert_close(model.patch_embed.proj.weight, deit.patch_embed.proj.weight)


def _save_hf_cached(root, repo: str, model) -> None:
    """``model``'s weights as ``model.safetensors`` of ``repo`` in the Hugging Face cache."""
    from safetensors.torch import save_file
    folder = root / 'hf' / ('models--' + repo.replace('/', '--'))
    (folder / 'refs').mkdir(parents=True)
    (folder / 'refs' / 'main').write_text('0' * 40)
    (folder / 'snapshots' / ('0' * 40)).mkdir(parents=True)
    save_file({k: v.contiguous() for k, v in model.state_dict().items()},
              str(folder / 'snapshots' / ('0' * 40) / 'model.safetensors'))


def test_legacy_vit_small_file_without_qkv_bias(offline):
    """The timm-0.4.9 ViT-Small file has no qkv bias: zeros, as LCA-MD's own init."""
    ref = _tiny_vit('vit_s_legacy')
    state = {k: v for k, v in ref.state_dict().items() if not k.endswith('qkv.bias')}
    proj = state['patch_embed.proj.weight']
    state['patch_embed.proj.weight'] = proj.reshape(proj.shape[0], -1)  # manual-patchify era
    _save_cached(weights_source('vit_s_legacy')['url'], state)
    model = _tiny_vit('vit_s_legacy', pretrained=True)
    assert torch.count_nonzero(model.blocks[0].attn.qkv.bias) == 0
    torch.testing.assert_close(model.patch_embed.proj.weight, proj)


def test_missing_local_file_names_what_to_fetch(offline):
    with pytest.raises(PretrainedWeightsError) as err:
        _tiny_vit('deit_s', pretrained=str(offline / 'nowhere.pth'))
    assert 'nowhere.pth' in str(err.value)
    _assert_one_message(err.value, 'deit_small_patch16_224-cd65a155.pth')


def test_init_localizer_of_a_checkpoint_needs_no_weights(offline):
    """The config asks for ImageNet weights that are nowhere: a checkpoint suffices."""
    cfg = Config.fromfile(osp.join(REPO_ROOT, 'configs/tscam/deit_t_cub.py'))
    cfg.model.backbone.update(depth=1, img_size=32)
    assert cfg.model.backbone.pretrained is True
    trained_cfg = cfg.model.deepcopy()
    drop_pretrained(trained_cfg)
    register_all_modules()
    trained = MODELS.build(trained_cfg)
    ckpt = offline / 'trained.pth'
    torch.save(dict(state_dict=trained.state_dict(), meta=dict()), ckpt)
    model = init_localizer(cfg, str(ckpt))
    torch.testing.assert_close(model.backbone.blocks[0].attn.qkv.weight,
                               trained.backbone.blocks[0].attn.qkv.weight)
    with pytest.raises(PretrainedWeightsError):  # without a checkpoint the weights are needed
        init_localizer(cfg)


def test_drop_pretrained_lists_every_source():
    model = dict(backbone=dict(type='X', pretrained='torchvision'),
                 head=dict(pretrained=None, init_cfg=dict(type='Pretrained', checkpoint='c')),
                 neck=[dict(pretrained=True)])
    assert drop_pretrained(model) == ['model.backbone.pretrained', 'model.head.init_cfg',
                                      'model.neck.0.pretrained']
    assert not _pretrained_values(model) and model['head']['init_cfg'] is None
