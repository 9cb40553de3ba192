"""Checks that run before a runner is built: the data first, pretrained weights only if needed.

Building a model can take long (a download attempt, a large backbone), so ``tools/train.py``
and ``tools/test.py`` first check that every dataset the run reads is where the config says
(:func:`check_datasets`, cheap: the datasets are built without reading their metadata). A
run that starts from a trained checkpoint (evaluation, inference) builds its model without
ImageNet weights (:func:`drop_pretrained`): the checkpoint replaces them anyway, so neither
the network nor the weight files are needed.
"""
import inspect
import os.path as osp
from typing import Dict, List, Optional, Sequence, Tuple

from mmengine.config import Config
from mmengine.registry import DefaultScope

from wsol_mm.utils import MissingFileError, UserError, register_all_modules


def _dataset_configs(cfg: dict) -> List[dict]:
    """The leaf dataset configs under a (possibly wrapped) dataset config."""
    if not isinstance(cfg, dict):
        return []  # an already built dataset object: nothing to check here
    if isinstance(cfg.get('datasets'), (list, tuple)):
        return [leaf for sub in cfg['datasets'] for leaf in _dataset_configs(sub)]
    if isinstance(cfg.get('dataset'), dict):
        return _dataset_configs(cfg['dataset'])
    return [cfg]


def _generates_missing_data(dataset_cls: Optional[type], dataset_cfg: dict) -> bool:
    """Whether the dataset writes its own data when it is missing (SyntheticWSOL), as
    configured: its class names the switch in ``generate_missing_key``."""
    key = getattr(dataset_cls, 'generate_missing_key', None)
    if key is None:
        return False
    default = inspect.signature(dataset_cls.__init__).parameters[key].default
    return bool(dataset_cfg.get(key, default))


def _missing_paths(dataset_cfg: dict) -> List[Tuple[str, str]]:
    """``(path, what)`` pairs of a dataset config that do not exist (built lazily)."""
    from wsol_mm.registry import DATASETS
    if _generates_missing_data(DATASETS.get(dataset_cfg.get('type')), dataset_cfg):
        return []  # made by the runner's build (rank 0 under DDP), not an error
    root = dataset_cfg.get('data_root')
    if root and not osp.isdir(osp.expanduser(root)):
        return [(root, 'data_root')]
    try:  # lazy_init: paths resolved, metadata not read (the runner reads it once later)
        dataset = DATASETS.build(dict(dataset_cfg, lazy_init=True))
    except (UserError, FileNotFoundError) as err:
        return [(str(err).rstrip('.'), 'error')]
    except TypeError:
        return []  # a dataset without lazy_init: the runner's build reports its errors
    found = []
    ann_file = getattr(dataset, 'ann_file', '')
    if ann_file and not osp.exists(ann_file):
        found.append((ann_file, 'ann_file'))
    for name, path in (getattr(dataset, 'data_prefix', None) or {}).items():
        if isinstance(path, str) and path and not osp.isdir(path):
            found.append((path, f'data_prefix.{name}'))
    return found


def check_datasets(cfg: Config, loaders: Sequence[str]) -> None:
    """Fail with one message if a dataset of ``loaders`` is not where the config says.

    Args:
        cfg (Config): the run's config.
        loaders (Sequence[str]): e.g. ``('train_dataloader', 'val_dataloader')``; loaders
            the config does not have (``None``) are skipped.

    Raises:
        MissingFileError: names every missing folder or file with the dataloaders that read
            it, and how to point the config at the data.
    """
    register_all_modules(init_default_scope=False)
    missing: Dict[Tuple[str, str], List[str]] = {}
    with DefaultScope.overwrite_default_scope(cfg.get('default_scope', 'wsol_mm')):
        for loader in loaders:
            loader_cfg = cfg.get(loader)
            if not loader_cfg:
                continue
            for dataset_cfg in _dataset_configs(loader_cfg.get('dataset')):
                for path, what in _missing_paths(dataset_cfg):
                    missing.setdefault((path, what), []).append(loader)
    if not missing:
        return
    parts = []
    for (path, what), users in missing.items():
        owners = ', '.join(dict.fromkeys(users))
        parts.append(f'{owners}: {path}' if what == 'error' else
                     f'{path} ({what} of {owners}) does not exist')
    raise MissingFileError(
        'dataset not found: ' + '; '.join(parts) + '. Put the data there (data/README.md) or '
        'point the config at it: --data-root DIR (every dataloader) or --cfg-options '
        '<loader>.dataset.data_root=DIR')


def drop_pretrained(model_cfg: dict) -> List[str]:
    """Switch off every ImageNet-weights source of a model config, in place.

    For a model whose weights all come from a checkpoint: ``pretrained`` keys become None and
    ``init_cfg=dict(type='Pretrained', ...)`` entries are removed.

    Args:
        model_cfg (dict): ``cfg.model``.

    Returns:
        list: the dotted keys that were switched off (``model.backbone.pretrained``, ...).
    """
    changed: List[str] = []

    def visit(node, path: str) -> None:
        if isinstance(node, dict):
            for key in list(node):
                value = node[key]
                if key == 'pretrained' and value not in (None, False):
                    node[key] = None
                    changed.append(f'{path}.{key}')
                elif key == 'init_cfg' and isinstance(value, dict) \
                        and value.get('type') == 'Pretrained':
                    node[key] = None
                    changed.append(f'{path}.{key}')
                else:
                    visit(value, f'{path}.{key}')
        elif isinstance(node, (list, tuple)):
            for i, item in enumerate(node):
                visit(item, f'{path}.{i}')

    visit(model_cfg, 'model')
    return changed

