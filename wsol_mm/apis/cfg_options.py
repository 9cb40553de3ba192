"""Command-line overrides that either take effect or fail with one clear message.

``--cfg-options KEY=VALUE`` is checked against what will really read the key:

* a key inside a dict with a ``type`` must be an argument of that registered
  class or of the bases its ``**kwargs`` reach (``model.head.loss.label_smoothing``,
  ``train_dataloader.dataset.indices`` of mmengine's ``BaseDataset``,
  ``model.backbone.init_cfg`` of ``BaseModule``);
* a key of a dataloader dict must be a ``DataLoader`` / mmengine dataloader key;
* a top-level key must be one the Runner (or wsol_mm) reads. A top-level
  *variable* of the config file (``data_root``, ``train_pipeline``...) was
  already substituted into the dicts that use it when the file was loaded, so
  setting it later would change nothing: it is rejected with the keys to set
  instead (``--data-root DIR`` for ``data_root``).

Typos get the valid keys and the closest match. ``set_data_root`` implements
``--data-root``: every dataloader's dataset root, and every path derived from
the old root, moves to the new one.
"""
import ast
import copy
import difflib
import inspect
import os.path as osp
import re
import textwrap
from typing import Dict, Iterator, List, Optional, Sequence, Set, Tuple

import torch.nn as nn
from mmengine.config import Config
from mmengine.runner import Runner

from wsol_mm import registry as R
from wsol_mm.utils.user_error import UserError

# Keys read from the config outside ``Runner.__init__``'s arguments (mmengine's
# Runner reads them from ``self.cfg``; ``classes``/``notes`` by wsol_mm tools).
EXTRA_TOP_LEVEL_KEYS = ('model_wrapper_cfg', 'sync_bn', 'find_unused_parameters',
                        'activation_checkpointing', 'efficient_conv_bn_eval', 'compile',
                        'classes', 'notes')
# Keys consumed by mmengine's ``Runner.build_dataloader`` besides ``DataLoader``'s own.
DATALOADER_EXTRA_KEYS = ('dataset', 'sampler', 'batch_sampler', 'collate_fn', 'worker_init_fn',
                         'num_batch_per_epoch', 'disable_subprocess_warning')
# Keys a builder pops before calling the class (registry -> keys).
BUILDER_KEYS = {
    'optim wrapper': ('constructor', 'paramwise_cfg'),
    'parameter scheduler': ('convert_to_iter_based', ),
    'hook': ('priority', ),
}
# Which registry a ``type`` under a config path lives in (first match wins;
# the others are tried when the name is not found there).
_PATH_REGISTRIES: Sequence[Tuple[str, object]] = (
    (r'(^|\.)init_cfg(\.\d+)?$', R.WEIGHT_INITIALIZERS),
    (r'_dataloader\.(batch_)?sampler$', R.DATA_SAMPLERS),
    (r'(pipeline|transforms)\.\d+$', R.TRANSFORMS),
    (r'_dataloader\.dataset', R.DATASETS),
    (r'^model_wrapper_cfg', R.MODEL_WRAPPERS),
    (r'^model', R.MODELS),
    (r'_evaluator', R.METRICS),
    (r'^optim_wrapper\.optimizer$', R.OPTIMIZERS),
    (r'^optim_wrapper$', R.OPTIM_WRAPPERS),
    (r'^param_scheduler', R.PARAM_SCHEDULERS),
    (r'hooks', R.HOOKS),
    (r'^visualizer$', R.VISUALIZERS),
    (r'vis_backends', R.VISBACKENDS),
    (r'^(train|val|test)_cfg$', R.LOOPS),
    (r'^log_processor$', R.LOG_PROCESSORS),
)
_LOADERS = ('train_dataloader', 'val_dataloader', 'test_dataloader')
_ALL_REGISTRIES = [getattr(R, name) for name in R.__all__]


class ConfigOptionError(UserError, ValueError):
    """A command-line override that would be ignored or cannot apply (a user's mistake)."""


def top_level_keys() -> Set[str]:
    """Top-level config keys that something reads after the file is loaded."""
    params = inspect.signature(Runner.__init__).parameters
    return {p for p in params if p not in ('self', 'cfg')} | set(EXTRA_TOP_LEVEL_KEYS)


def accepted_arguments(obj) -> Optional[Set[str]]:
    """Keyword arguments a registered class (or function) accepts from a config.

    Walks the MRO: a class's ``__init__`` arguments, plus those of the next base
    while its ``**kwargs`` go to ``super().__init__`` (read from the source).
    ``**kwargs`` handed to anything else (``timm.create_model(**kwargs)``) accept
    any key; ``nn.Module`` and ``object`` take none.

    Returns:
        set[str] | None: the names, or None when any key may be meaningful.
    """
    if not inspect.isclass(obj):
        names, var_kw = _signature_keys(obj) if callable(obj) else (None, True)
        return None if var_kw else names
    keys: Set[str] = set()
    for klass in obj.__mro__:
        if klass in (object, nn.Module):
            return keys
        init = klass.__dict__.get('__init__')
        if init is None:
            continue
        names, var_kw = _signature_keys(init, skip_first=True)
        if names is None:
            return None
        keys |= names
        target, popped = _kwargs_target(init) if var_kw else ('none', set())
        keys |= popped
        if target == 'other':
            return None
        if target == 'none':
            return keys
    return None


def _kwargs_target(init) -> Tuple[str, Set[str]]:
    """Where ``__init__`` passes its ``**kwargs`` (``'base'``, ``'other'`` or ``'none'``),
    and the keys it reads from them itself (``kwargs.pop('key')``)."""
    varkw = next(p.name for p in inspect.signature(init).parameters.values()
                 if p.kind == p.VAR_KEYWORD)
    try:
        tree = ast.parse(textwrap.dedent(inspect.getsource(init)))
    except (OSError, TypeError, SyntaxError):
        return 'other', set()  # no source (C code): assume anything may be read
    targets, read = set(), set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        if isinstance(func, ast.Attribute) and isinstance(func.value, ast.Name) \
                and func.value.id == varkw and node.args \
                and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str):
            read.add(node.args[0].value)
        passed = any(k.arg is None and isinstance(k.value, ast.Name) and k.value.id == varkw
                     for k in node.keywords)
        uses = any(isinstance(v, ast.Name) and v.id == varkw
                   for v in list(node.args) + [k.value for k in node.keywords if k.arg])
        is_super_init = isinstance(node.func, ast.Attribute) and node.func.attr == '__init__'
        if passed:
            targets.add('base' if is_super_init else 'other')
        elif uses and not (isinstance(node.func, ast.Attribute)
                           and node.func.attr in ('pop', 'get', 'setdefault', 'update')):
            targets.add('other')
    if 'other' in targets:
        return 'other', read
    return ('base' if targets else 'none'), read



def _signature_keys(func, skip_first: bool = False) -> Tuple[Optional[Set[str]], bool]:
    try:
        params = list(inspect.signature(func).parameters.values())
    except (TypeError, ValueError):
        return None, True
    if skip_first:
        params = params[1:]
    names = {p.name for p in params
             if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    return names, any(p.kind == p.VAR_KEYWORD for p in params)


def resolve_type(type_name, path: str):
    """``(class, registry name)`` of ``type_name`` for a node at ``path``; None if unknown."""
    if not isinstance(type_name, str):
        return type_name, ''
    order = [reg for pattern, reg in _PATH_REGISTRIES if re.search(pattern, path)]
    for reg in order + [r for r in _ALL_REGISTRIES if r not in order]:
        obj = reg.get(type_name)
        if obj is not None:
            return obj, reg.name
    return None


def _valid_keys(node: dict, orig, path: str) -> Tuple[Optional[Set[str]], str]:
    """Keys that may be set in ``node`` at ``path`` (None = anything) and who reads them."""
    existing = set(orig) if isinstance(orig, dict) else set()
    if 'type' in node:
        found = resolve_type(node['type'], path)
        if found is None:
            return None, ''  # unknown type: the build reports it with the registry's words
        cls, reg_name = found
        keys = accepted_arguments(cls)
        if keys is None:
            return None, ''
        name = getattr(cls, '__name__', str(cls))
        extra = set(BUILDER_KEYS.get(reg_name, ())) | {'type', '_scope_'}
        return keys | extra | existing, f'arguments of {name} and its bases'
    if re.fullmatch('|'.join(_LOADERS), path):
        from torch.utils.data import DataLoader
        keys = set(inspect.signature(DataLoader.__init__).parameters) - {'self'}
        return keys | set(DATALOADER_EXTRA_KEYS) | existing, 'dataloader keys'
    return None, ''


def _walk_options(options: dict) -> Iterator[Tuple[str, List[str]]]:
    for dotted in options:
        yield dotted, dotted.split('.')


def _find_uses(tree, value, prefix: str = '') -> List[str]:
    """Dotted paths in ``tree`` whose value equals ``value``."""
    found = []
    items = tree.items() if isinstance(tree, dict) else enumerate(tree) \
        if isinstance(tree, (list, tuple)) else ()
    for key, sub in items:
        path = f'{prefix}.{key}' if prefix else str(key)
        if sub == value and not isinstance(value, bool):
            found.append(path)
        elif isinstance(sub, (dict, list, tuple)):
            found.extend(_find_uses(sub, value, path))
    return found


def _stale_variable_message(name: str, dotted: str, value, cfg_dict: dict) -> str:
    uses = _find_uses({k: v for k, v in cfg_dict.items() if k != name}, cfg_dict[name])
    msg = (f'--cfg-options {dotted}={value}: {name!r} is a variable of the config file; '
           'its value was already copied into the settings that use it when the file was '
           'loaded, so changing it now would change nothing.')
    if dotted == 'data_root':
        msg += f' Use --data-root {value} (sets the dataset root of every dataloader).'
    if uses:
        tail = dotted[len(name):]
        shown = ' '.join(f'{p}{tail}={value}' for p in uses[:6])
        more = f' (and {len(uses) - 6} more)' if len(uses) > 6 else ''
        msg += f' Or set the keys that use it: --cfg-options {shown}{more}'
    else:
        msg += ' Nothing in the loaded config holds its value any more; edit the config file.'
    return msg


def _typo_message(dotted: str, where: str, key: str, valid: Set[str], who: str) -> str:
    close = difflib.get_close_matches(key, sorted(valid), n=1)
    hint = f' (did you mean {close[0]!r}?)' if close else ''
    who = f' ({who})' if who else ''
    return (f'--cfg-options {dotted}: {where} has no key {key!r}{hint}; valid keys{who}: '
            f'{sorted(valid - {"_scope_"})}')


def check_cfg_options(cfg: Config, options: Dict[str, object]) -> None:
    """Raise :class:`ConfigOptionError` for any override nothing would read.

    Args:
        cfg (Config): the loaded config (not modified).
        options (dict): dotted keys and values, as parsed by ``DictAction``.
    """
    from wsol_mm.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    original = cfg.to_dict()
    merged = Config(copy.deepcopy(original))
    try:
        merged.merge_from_dict(dict(options))
    except (KeyError, IndexError, TypeError, ValueError) as err:
        raise ConfigOptionError(f'--cfg-options: cannot apply {sorted(options)}: {err}') \
            from None
    merged = merged.to_dict()
    top_keys = top_level_keys()
    for dotted, parts in _walk_options(options):
        head = parts[0]
        if head not in top_keys:
            if head in original:
                raise ConfigOptionError(_stale_variable_message(head, dotted, options[dotted],
                                                                original))
            raise ConfigOptionError(_typo_message(dotted, 'the config', head, top_keys,
                                                  'top-level keys read by the runner'))
        node, orig = merged[head], original.get(head)
        for depth, part in enumerate(parts[1:], 1):
            where = '.'.join(parts[:depth])
            if isinstance(node, (list, tuple)):
                if not (part.isdigit() and int(part) < len(node)):
                    raise ConfigOptionError(f'--cfg-options {dotted}: {where} is a list of '
                                            f'{len(node)} items; {part!r} is not an index')
                node = node[int(part)]
                orig = orig[int(part)] if isinstance(orig, (list, tuple)) and \
                    int(part) < len(orig) else None
                continue
            if not isinstance(node, dict):
                raise ConfigOptionError(f'--cfg-options {dotted}: {where} is a '
                                        f'{type(node).__name__}, not a dict')
            valid, who = _valid_keys(node, orig, where)
            if valid is not None and part not in valid:
                raise ConfigOptionError(_typo_message(dotted, where, part, valid, who))
            if valid is None and isinstance(orig, dict) and 'type' not in node \
                    and part not in orig and depth < len(parts) - 1:
                raise ConfigOptionError(_typo_message(dotted, where, part, set(orig), ''))
            node = node.get(part)
            orig = orig.get(part) if isinstance(orig, dict) else None


def check_config_keys(cfg: Config) -> None:
    """Raise :class:`ConfigOptionError` for a key no constructor takes (the first one found).

    Run on the merged config before the Runner builds anything, so that a key left
    over from a base config (``split`` of a dataset replaced by another type) or a
    typo in a config file gets one message instead of a TypeError deep in a build.
    """
    from wsol_mm.utils import register_all_modules
    register_all_modules(init_default_scope=False)

    def walk(node, path: str) -> None:
        if isinstance(node, dict):
            if path:
                valid, who = _valid_keys(node, None, path)
                extra = sorted(set(node) - valid) if valid is not None else []
                if extra:
                    close = difflib.get_close_matches(extra[0], sorted(valid), n=1)
                    hint = f' (did you mean {close[0]!r}?)' if close else ''
                    raise ConfigOptionError(
                        f'config key {path}.{extra[0]}: {path} has no key {extra[0]!r}{hint}; '
                        f'valid keys ({who}): {sorted(valid - {"_scope_"})}. If a base config '
                        f'sets it, replace the whole {path} dict (_delete_=True) or inherit '
                        'other bases')
            for key, value in node.items():
                walk(value, f'{path}.{key}' if path else str(key))
        elif isinstance(node, (list, tuple)):
            for i, value in enumerate(node):
                walk(value, f'{path}.{i}')

    walk({k: v for k, v in cfg.to_dict().items() if k in top_level_keys()}, '')


def _datasets(cfg_node) -> Iterator[dict]:
    """Dataset dicts of a dataloader's ``dataset``, through wrappers."""
    if not isinstance(cfg_node, dict):
        return
    inner = [cfg_node.get('dataset')] + list(cfg_node.get('datasets') or [])
    inner = [d for d in inner if isinstance(d, dict)]
    if inner and 'data_root' not in cfg_node:
        for sub in inner:
            yield from _datasets(sub)
    else:
        yield cfg_node


def _rebase(node, old: str, new: str, skip=('pipeline', )):
    """Replace the ``old`` root prefix of every path string in ``node``."""
    if isinstance(node, str):
        if old and (node == old or node.startswith(old.rstrip('/') + '/')):
            return new + node[len(old.rstrip('/')):] if node != old else new
        return node
    if isinstance(node, dict):
        return type(node)({k: v if k in skip else _rebase(v, old, new, skip)
                           for k, v in node.items()})
    if isinstance(node, (list, tuple)):
        return type(node)(_rebase(v, old, new, skip) for v in node)
    return node


def set_data_root(cfg: Config, root: str) -> List[str]:
    """Point every dataloader's dataset (and the paths derived from its root) at ``root``.

    Returns:
        list[str]: the dotted keys that were changed (for the log).
    """
    changed, old_roots = [], set()
    for name in _LOADERS:
        loader = cfg.get(name)
        if not loader or not isinstance(loader.get('dataset'), dict):
            continue
        for ds in _datasets(loader['dataset']):
            old = ds.get('data_root')
            if isinstance(old, str) and old:
                old_roots.add(old)
                for key, value in list(ds.items()):
                    if key not in ('data_root', 'pipeline'):
                        ds[key] = _rebase(value, old, root)
            ds['data_root'] = root
            changed.append(f'{name}.dataset.data_root')
    for name in ('val_evaluator', 'test_evaluator'):
        if cfg.get(name) is not None:
            for old in old_roots:
                cfg[name] = _rebase(cfg[name], old, root)
    if 'data_root' in cfg:
        cfg['data_root'] = root  # the dumped config then reads consistently
    if not changed:
        raise ConfigOptionError(f'--data-root {root}: the config has no dataloader with a '
                                'dataset to point at it')
    return changed


def apply_overrides(cfg: Config, options: Optional[dict] = None,
                    data_root: Optional[str] = None) -> Config:
    """Apply ``--data-root`` then ``--cfg-options`` (checked first) to ``cfg`` in place.

    The result is checked as a whole (:func:`check_config_keys`) before it is returned.
    """
    if options:
        check_cfg_options(cfg, options)
    if data_root:
        set_data_root(cfg, osp.normpath(data_root) if data_root != '' else data_root)
    if options:
        cfg.merge_from_dict(options)
    check_config_keys(cfg)
    return cfg
