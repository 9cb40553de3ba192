"""ImageNet weights of the backbones: where each file comes from, local files and downloads.

Every backbone (and ``CAMHead``'s torchvision ``fc``) resolves its ``pretrained`` value here:

* a path: that local file (``.pth`` through the safe loader, or ``.safetensors``);
* ``'torchvision'`` (CNNs) / ``True`` (DeiT, ViT): the file of :data:`WEIGHT_SOURCES`, read
  from the download cache (torch hub's ``<hub dir>/checkpoints``, or the Hugging Face cache for
  hub-only files) and downloaded only when it is not there.

When a file is neither local nor downloadable (no network, ``HF_HUB_OFFLINE=1``, a source
without direct download) one :class:`~wsol_mm.utils.PretrainedWeightsError` names the file
to fetch, its checksum where the source publishes one, where to put it and the config key that
takes it. The network is probed with one short connection first, so an air-gapped machine gets
that message at once instead of after the download libraries' retries.
"""
import os
import os.path as osp
import re
import socket
from typing import Dict, Optional, Tuple
from urllib.parse import urlparse

import torch
import torch.nn as nn
import torchvision
from mmengine.logging import MMLogger

from wsol_mm.fileio import load_checkpoint_file
from wsol_mm.utils.pretrained_weights_error import PretrainedWeightsError

# The hex digits after the last '-' of a torch hub file name begin its SHA-256 (torch hub
# checks them on download; the messages print them).
_HASH_IN_NAME = 'SHA-256 prefix in the file name'
# Files of the transformer backbones (the torchvision ones come from torchvision's weight
# enums, see `weights_source`). `url`: direct download into torch hub's cache; `hf_repo`: a
# Hugging Face Hub file; `hf_cache`: timm's Hub copy of the same weights, used when it is in
# the Hugging Face cache already (never downloaded); `manual`: no direct download.
WEIGHT_SOURCES: Dict[str, dict] = {
    # The official DeiT files that TS-CAM / SCM / LCA-MD download (`check_hash=True`).
    'deit_t': dict(title='DeiT-T/16 (ImageNet-1k)',
                   url='https://dl.fbaipublicfiles.com/deit/deit_tiny_patch16_224-a1311bcf.pth',
                   checksum=_HASH_IN_NAME,
                   hf_cache='timm/deit_tiny_patch16_224.fb_in1k'),
    'deit_s': dict(title='DeiT-S/16 (ImageNet-1k)',
                   url='https://dl.fbaipublicfiles.com/deit/deit_small_patch16_224-cd65a155.pth',
                   checksum=_HASH_IN_NAME,
                   hf_cache='timm/deit_small_patch16_224.fb_in1k'),
    'deit_b': dict(title='DeiT-B/16 (ImageNet-1k)',
                   url='https://dl.fbaipublicfiles.com/deit/deit_base_patch16_224-b5f2ef4d.pth',
                   checksum=_HASH_IN_NAME,
                   hf_cache='timm/deit_base_patch16_224.fb_in1k'),
    # timm's current ViT-S/16: its original is a JAX .npz, so the Hub's safetensors file.
    'vit_s': dict(title='ViT-S/16 (timm, AugReg ImageNet-21k -> 1k)',
                  hf_repo='timm/vit_small_patch16_224.augreg_in21k_ft_in1k',
                  file='model.safetensors',
                  checksum='the Hub shows its SHA-256 on the file page'),
    # The timm <= 0.4.9 "ViT-Small" (D=768, 8 blocks) that LCA-MD's vit_lca_md_small expects.
    'vit_s_legacy': dict(
        title='timm 0.4.9 ViT-Small (D=768, 8 blocks, no qkv bias)',
        url='https://github.com/rwightman/pytorch-image-models/releases/download/v0.1-weights/'
            'vit_small_p16_224-15ec54c9.pth',
        checksum=_HASH_IN_NAME),
    # Official Conformer files (pengzhiliang/Conformer README): Google Drive / Baidu only.
    'conformer_small': dict(
        title='Conformer-S/16 (ImageNet-1k)', file='Conformer_small_patch16.pth', manual=True,
        url='https://drive.google.com/file/d/1mpOlbLaVxOfEwV4-ha78j_1Ebqzj2B83/view',
        checksum='no checksum is published'),
    'conformer_tiny': dict(
        title='Conformer-Ti/16 (ImageNet-1k)', file='Conformer_tiny_patch16.pth', manual=True,
        url='https://drive.google.com/file/d/19SxGhKcWOR5oQSxNUWUM2MGYiaWMrF1z/view',
        checksum='no checksum is published'),
    'conformer_base': dict(
        title='Conformer-B/16 (ImageNet-1k)', file='Conformer_base_patch16.pth', manual=True,
        url='https://drive.google.com/file/d/1oeQ9LSOGKEUaYGu7WTlUGl3KDsQIi0MA/view',
        checksum='no checksum is published'),
}
_PROXY_VARIABLES = ('https_proxy', 'HTTPS_PROXY', 'all_proxy', 'ALL_PROXY')


def weights_source(name: str) -> dict:
    """The source of a weights file: a :data:`WEIGHT_SOURCES` key or a torchvision enum name.

    Args:
        name (str): e.g. ``'deit_s'``, ``'conformer_small'`` or ``'ResNet50_Weights'``.

    Returns:
        dict: ``title``, ``file``, ``url`` or ``hf_repo``, ``checksum`` and ``manual``.
    """
    if name in WEIGHT_SOURCES:
        source = dict(WEIGHT_SOURCES[name])
    else:
        url = getattr(torchvision.models, name).IMAGENET1K_V1.url
        source = dict(title=f'torchvision {name[:-len("_Weights")].lower()} (IMAGENET1K_V1)',
                      url=url, checksum=_HASH_IN_NAME)
    source.setdefault('file', osp.basename(source.get('url', '')))
    source.setdefault('manual', False)
    return source


def hub_cache_path(url: str) -> str:
    """Where torch hub keeps (and torchvision looks for) the download of ``url``."""
    return osp.join(torch.hub.get_dir(), 'checkpoints', osp.basename(urlparse(url).path))


def missing_weights_error(name: str, key: str, reason: str) -> PretrainedWeightsError:
    """The one message for weights that cannot be had: what to fetch, where to put it, which key.

    Args:
        name (str): the source (see :func:`weights_source`).
        key (str): the config key that takes a local file, e.g. ``model.backbone.pretrained``.
        reason (str): why the weights are not available (names the missing path or the
            failed download).
    """
    src = weights_source(name)
    found = re.search(r'-([a-f0-9]{8,})\.', src['file'])
    checksum = f'SHA-256 begins with {found[1]}' if found and not src['manual'] \
        else src['checksum']
    where = (f'{src["url"]}' if 'url' in src else
             f'the Hugging Face Hub repo {src["hf_repo"]}')
    local = src['file'] if 'hf_repo' not in src else \
        f'{src["hf_repo"].split("/")[-1]}.safetensors'
    cache = '' if src['manual'] or 'url' not in src else (
        f'either to {hub_cache_path(src["url"])} (the config then works unchanged), or ')
    return PretrainedWeightsError(
        f'{src["title"]} weights are needed but {reason}. Fetch {src["file"]} ({checksum}) '
        f'from {where} on a machine with internet and copy it to this one: {cache}anywhere, '
        f'e.g. pretrained/{local}, with --cfg-options {key}=pretrained/{local} (or that value '
        'in the config). Files per config: configs/<method>/README.md')


def network_reachable(url: str, timeout: float = 5.0) -> bool:
    """Whether ``url``'s host accepts a connection within ``timeout`` seconds.

    With a proxy configured the host may be unreachable directly yet downloadable: True,
    the download itself then decides.
    """
    if any(os.environ.get(name) for name in _PROXY_VARIABLES):
        return True
    parsed = urlparse(url)
    try:
        with socket.create_connection((parsed.hostname, parsed.port or 443), timeout=timeout):
            return True
    except OSError:
        return False


def _hf_offline() -> bool:
    from huggingface_hub import constants
    return bool(constants.HF_HUB_OFFLINE)


def fetch_weights(name: str, key: str) -> str:
    """Local path of the weights ``name``: the download cache, else a download.

    Args:
        name (str): the source (see :func:`weights_source`).
        key (str): the config key, for the message when they cannot be had.

    Raises:
        PretrainedWeightsError: not cached and not downloadable (one message).
    """
    src = weights_source(name)
    if src['manual']:
        raise missing_weights_error(name, key, 'they have no direct download')
    if 'hf_repo' in src:
        import huggingface_hub
        cached = huggingface_hub.try_to_load_from_cache(src['hf_repo'], src['file'])
        if isinstance(cached, str):
            return cached
        endpoint = huggingface_hub.constants.ENDPOINT
        if _hf_offline() or not network_reachable(endpoint):
            why = 'HF_HUB_OFFLINE is set' if _hf_offline() else f'{endpoint} is not reachable'
            raise missing_weights_error(name, key, f'they are not in the Hugging Face cache '
                                        f'and {why}')
        try:
            return huggingface_hub.hf_hub_download(src['hf_repo'], src['file'])
        except OSError as err:  # connection, HTTP and missing-entry errors of the hub
            raise missing_weights_error(name, key, f'the download failed ({err})') from None
    path = hub_cache_path(src['url'])
    if osp.isfile(path):
        return path
    if src.get('hf_cache'):  # timm's copy, e.g. from an earlier `timm.create_model(...)`
        import huggingface_hub
        cached = huggingface_hub.try_to_load_from_cache(src['hf_cache'], 'model.safetensors')
        if isinstance(cached, str):
            return cached
    if not network_reachable(src['url']):
        raise missing_weights_error(name, key, f'they are not in {osp.dirname(path)} and '
                                    f'{urlparse(src["url"]).hostname} is not reachable')
    os.makedirs(osp.dirname(path), exist_ok=True)
    found = re.search(r'-([a-f0-9]{8,})\.', src['file'])
    try:  # torch hub writes to a temporary file and moves it into place when complete
        torch.hub.download_url_to_file(src['url'], path, found[1] if found else None)
    except (OSError, RuntimeError) as err:  # network errors; RuntimeError: hash mismatch
        raise missing_weights_error(name, key, f'the download failed ({err})') from None
    return path


def read_weights_file(path: str, name: str, key: str) -> Dict[str, torch.Tensor]:
    """The state dict in a local weights file (``model`` / ``state_dict`` entry or plain).

    ``.safetensors`` files are read with safetensors, every other file with the safe
    checkpoint loader (:func:`wsol_mm.fileio.load_checkpoint_file`).

    Raises:
        PretrainedWeightsError: ``path`` does not exist (the message says what to fetch).
    """
    path = osp.expanduser(path)
    if not osp.isfile(path):
        raise missing_weights_error(name, key, f'{key}={path!r} is not a file')
    if path.endswith('.safetensors'):
        from safetensors.torch import load_file
        return load_file(path, device='cpu')
    state = load_checkpoint_file(path, map_location='cpu')
    for entry in ('model', 'state_dict'):
        if isinstance(state, dict) and isinstance(state.get(entry), dict):
            state = state[entry]
    return state


def resolve_weights(pretrained, name: str, key: str, automatic: object = True
                    ) -> Optional[Dict[str, torch.Tensor]]:
    """The state dict that ``pretrained`` asks for, or None for none.

    Args:
        pretrained: the backbone argument: False/None (none), ``automatic`` (the
            :data:`WEIGHT_SOURCES` file of ``name``, cached or downloaded) or a local path.
        name (str): the source of the automatic file (see :func:`weights_source`).
        key (str): the config key of ``pretrained`` (for messages).
        automatic: the value that asks for the automatic file (``'torchvision'`` for the
            CNNs, ``True`` for the transformers).
    """
    if pretrained is None or pretrained is False:
        return None
    if pretrained is automatic or (isinstance(automatic, str) and pretrained == automatic):
        return read_weights_file(fetch_weights(name, key), name, key)
    if not isinstance(pretrained, str):
        raise PretrainedWeightsError(f'{key}={pretrained!r}: expected a local file, '
                                     f'{automatic!r} (download) or None')
    return read_weights_file(pretrained, name, key)


def read_torchvision_state(pretrained: str, weights_enum: str,
                           key: str = 'model.backbone.pretrained') -> Dict[str, torch.Tensor]:
    """Return a torchvision state dict from a local file or the download cache.

    Args:
        pretrained (str): a local ``.pth`` path, or ``'torchvision'`` for
            ``<weights_enum>.IMAGENET1K_V1`` (torch hub's cache, downloaded when missing).
        weights_enum (str): torchvision weights enum name, e.g. ``'VGG16_Weights'``.
        key (str): the config key of ``pretrained`` (for messages).
    """
    return resolve_weights(pretrained, weights_enum, key, automatic='torchvision')


def load_torchvision_weights(module: nn.Module, pretrained: str, arch: str,
                             weights_enum: str, key_map: Optional[Dict[str, str]] = None,
                             drop_prefixes: Tuple[str, ...] = ('fc.', 'classifier.',
                                                               'AuxLogits.'),
                             keep_prefixes: Optional[Tuple[str, ...]] = None,
                             key: str = 'model.backbone.pretrained',
                             state: Optional[Dict[str, torch.Tensor]] = None) -> None:
    """Load a torchvision state dict into ``module`` with renamed keys.

    Args:
        module (nn.Module): the backbone (or head) to fill.
        pretrained (str): a local ``.pth`` path, or ``'torchvision'`` for
            ``<weights_enum>.IMAGENET1K_V1`` (cached, else downloaded: needs internet).
        arch (str): torchvision architecture name (for messages).
        weights_enum (str): torchvision weights enum name, e.g. ``'ResNet50_Weights'``.
        key_map (dict, optional): prefix renames ``{torchvision_prefix: our_prefix}``
            (a prefix matches whole dotted components: ``features.2`` does not
            match ``features.24``).
        drop_prefixes (tuple): torchvision prefixes not loaded (classifiers).
        keep_prefixes (tuple, optional): if given, load only keys with these
            torchvision prefixes (e.g. ``('fc.', )`` to fill a head); every kept
            key must then exist in ``module`` and every ``module`` key must be
            filled.
        key (str): the config key of ``pretrained`` (named when the file is missing).
        state (dict, optional): the file's state dict when the caller read it already
            (backbones read it before building their layers: a missing file fails at once).
    """
    if state is None:
        state = read_torchvision_state(pretrained, weights_enum, key)
    renamed = {}
    for name, value in state.items():
        if keep_prefixes is not None:
            if not name.startswith(keep_prefixes):
                continue
        elif name.startswith(drop_prefixes):
            continue
        for src, dst in (key_map or {}).items():
            if name.startswith(src + '.'):
                name = dst + name[len(src):]
                break
        renamed[name] = value
    own = module.state_dict()
    for name, value in renamed.items():
        if name in own and own[name].shape != value.shape:
            raise ValueError(f'{pretrained}: {name} has shape {tuple(value.shape)}, the model '
                             f'expects {tuple(own[name].shape)}; is it a torchvision {arch} '
                             'checkpoint (and are num_classes / strides as intended)?')
    missing, unexpected = module.load_state_dict(renamed, strict=False)
    if unexpected:
        raise KeyError(f'{pretrained}: keys not in {arch}: {unexpected[:10]}; is it a '
                       f'torchvision {arch} checkpoint?')
    if missing and keep_prefixes is not None:
        raise KeyError(f'{pretrained}: {arch} weights {missing[:10]} not found in the file')
    if missing:
        MMLogger.get_current_instance().warning(
            f'{arch}: not in the pretrained file (newly initialised): {missing}')
