"""Turn a released code's config (YAML or shell script) into a wsol_mm config.

This module decides the overrides (:class:`ImportResult`); ``config_render`` writes them
as a config file.

The generated file inherits the matching ``configs/<method>/<backbone>_<dataset>.py``
and sets only the keys whose released value differs from it (data root, batch,
lr, schedule, crop hyper-parameters ...), following ``release_key_map``; every
released option that is not carried over is listed with the reason. The keys
are checked with ``check_cfg_options`` before anything is written, so a stale
mapping entry fails loudly instead of writing a config that ignores it.
"""
import inspect
import os
import os.path as osp
import re
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Sequence, Tuple

from mmengine.config import Config

from . import release_key_map as K
from .cfg_options import ConfigOptionError, check_cfg_options, resolve_type
from .release_formats import (
    ReleasedConfigError,
    read_main_py_args,
    read_release_yaml,
    read_train_cam_args,
    shell_commands,
)

REPO_ROOT = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
_MISSING = object()
_COMBINED = ('@yaml_steps', '@som_norm')  # computed from several options: applied once


@dataclass
class ImportResult:
    """What :func:`import_released` decided."""
    base: str
    overrides: Dict[str, object] = field(default_factory=dict)
    report: List[Tuple[str, str, str]] = field(default_factory=list)  # option, value, outcome


def key_path_tokens(path: str) -> List[Tuple[str, Optional[str]]]:
    """``'a.b[type=X].c'`` -> ``[('a', None), ('b', 'X'), ('c', None)]``."""
    out = []
    for part in path.split('.'):
        m = re.fullmatch(r'(\w+)\[type=(\w+)\]', part)
        out.append((m.group(1), m.group(2)) if m else (part, None))
    return out


def _class_default(node: dict, key: str, path: str):
    found = resolve_type(node.get('type'), path)
    if not found or not inspect.isclass(found[0]):
        return _MISSING
    for klass in found[0].__mro__:
        init = klass.__dict__.get('__init__')
        if init is None:
            continue
        params = inspect.signature(init).parameters
        if key in params and params[key].default is not inspect.Parameter.empty:
            return params[key].default
        if not any(p.kind == p.VAR_KEYWORD for p in params.values()):
            break
    return _MISSING


def base_value(cfg: dict, path: str):
    """Value of ``path`` in ``cfg``; a typed dict's unset argument gives the class default."""
    node, walked = cfg, []
    tokens = key_path_tokens(path)
    for i, (key, sel) in enumerate(tokens):
        if not isinstance(node, dict):
            return _MISSING
        if key not in node:
            last = i == len(tokens) - 1 and sel is None
            return _class_default(node, key, '.'.join(walked)) if last and 'type' in node \
                else _MISSING
        node = node[key]
        walked.append(key)
        if sel is not None:
            items = node if isinstance(node, (list, tuple)) else [node]
            node = next((x for x in items if isinstance(x, dict) and x.get('type') == sel),
                        _MISSING)
            if node is _MISSING:
                return _MISSING
    return node


class _Planner:
    """Applies the mapping table to one base config and records what happened."""

    def __init__(self, base: str, gpus: int) -> None:
        self.result = ImportResult(base=base)
        self.cfg = Config.fromfile(base)
        self.base = self.cfg.to_dict()
        self.gpus = gpus
        self._notes: Dict[str, dict] = {}

    def _entry(self, option: str, shown) -> dict:
        default = isinstance(shown, str) and shown.endswith('(released default)')
        return self._notes.setdefault(option, dict(
            shown=shown if default else repr(shown), default=default, set=[], same=[],
            missing=[], other=[]))

    def set(self, option: str, shown, path: str, value) -> None:
        entry = self._entry(option, shown)
        current = base_value(self.base, path)
        if current is _MISSING:
            entry['missing'].append(path)
        elif _equal(current, value):
            entry['same'].append(path)
        else:
            self.result.overrides[path] = value
            entry['set'].append(f'{path}={value!r}')

    def note(self, option: str, shown, outcome: str) -> None:
        self._entry(option, shown)['other'].append(outcome)

    def finish(self) -> ImportResult:
        for option, e in self._notes.items():
            if e['default'] and not e['set']:
                continue  # a released default that changes nothing here: not worth a line
            parts = e['other'] + ([f'set {", ".join(e["set"])}'] if e['set'] else []) + \
                ([f'same as the base: {", ".join(e["same"])}'] if e['same'] else []) + \
                ([f'ignored: the base config has no {", ".join(e["missing"])}']
                 if e['missing'] and not (e['set'] or e['same']) else [])
            self.result.report.append((option, e['shown'], '; '.join(parts)))
        return self.result

    def per_gpu(self, option: str, total: int) -> int:
        if total % self.gpus:
            raise ReleasedConfigError(f'{option} = {total} is not divisible by --gpus '
                                      f'{self.gpus}')
        return total // self.gpus

    def loaders(self):
        return [k for k in ('train_dataloader', 'val_dataloader', 'test_dataloader')
                if isinstance(self.base.get(k), dict)]


def _equal(a, b) -> bool:
    if isinstance(a, (int, float)) and isinstance(b, (int, float)) \
            and not isinstance(a, bool) and not isinstance(b, bool):
        return abs(a - b) <= 1e-12 * max(abs(a), abs(b), 1e-300)
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)):
        return len(a) == len(b) and all(_equal(x, y) for x, y in zip(a, b))
    return a == b


def _step_schedule(planner: _Planner, option: str, shown, epochs: int, decays: List[int],
                   gamma: float) -> None:
    """MultiStepLR over 0-based epochs from released 1-based "decay before epoch e" rules."""
    value = [dict(type='MultiStepLR', by_epoch=True, milestones=[e - 1 for e in decays],
                  gamma=gamma)]
    current = planner.base.get('param_scheduler')
    current = current if isinstance(current, list) else [current]
    same = len(current) == 1 and isinstance(current[0], dict) and \
        current[0].get('type') == 'MultiStepLR' and \
        list(current[0].get('milestones', [])) == value[0]['milestones'] and \
        _equal(current[0].get('gamma', 0.1), gamma)
    if same:
        planner.note(option, shown, 'same as the base (param_scheduler)')
    else:
        planner.result.overrides['param_scheduler'] = value
        planner.note(option, shown, f'param_scheduler = MultiStepLR(milestones='
                                    f'{value[0]["milestones"]}, gamma={gamma})')


def _handle(planner: _Planner, target: str, option: str, value, opts: dict) -> None:
    if target == '@train_batch':
        planner.set(option, value, 'train_dataloader.batch_size', planner.per_gpu(option, value))
        planner.set(option, value, 'auto_scale_lr.base_batch_size', value)
    elif target == '@test_batch':
        for key in ('val_dataloader', 'test_dataloader'):
            planner.set(option, value, f'{key}.batch_size', planner.per_gpu(option, value))
    elif target == '@num_workers':
        for key in planner.loaders():
            planner.set(option, value, f'{key}.num_workers', value)
    elif target == '@yaml_steps':
        epochs, steps = opts['SOLVER.NUM_EPOCHS'], [int(s) for s in opts['SOLVER.LR_STEPS']]
        decays = [e for e in range(1, epochs + 1) if any(e % s == 0 for s in steps)]
        _step_schedule(planner, option, value, epochs, decays, float(opts['SOLVER.LR_FACTOR']))
    elif target == '@som_steps':
        epochs, freq = opts['epochs'], int(value)
        _step_schedule(planner, option, value, epochs,
                       [e for e in range(1, epochs + 1) if e % freq == 0], 0.1)
    elif target == '@som_lr_groups':
        rule = 'wsolevaluation' if value else 'small_object_matters'
        planner.set(option, value, 'optim_wrapper.paramwise_cfg.rule', rule)
    elif target == '@som_norm':
        _som_norm(planner, option, value, opts)
    elif target == '@yaml_data_root':
        _yaml_data_root(planner, option, value)
    elif target == '@som_data_root':
        _som_data_root(planner, option, value, opts)
    else:
        raise KeyError(f'release_key_map: unknown computed target {target}')


def _som_norm(planner: _Planner, option: str, shown, opts: dict) -> None:
    """``--norm_method`` / ``--percentile``: the normaliser of the final maps."""
    method, pct = opts['norm_method'], opts['percentile']
    norm = dict(type=K.NORM_TYPES[method], **({'percentile': pct} if method == 'ivr' else {}))
    current = base_value(planner.base, 'model.test_cfg.norm')
    current = dict(type='MinMax') if current in (_MISSING, None) else dict(current)
    if _norm_key(current) == _norm_key(norm):
        planner.note(option, shown, 'same as the base: model.test_cfg.norm')
        return
    if set(current) - set(norm):  # a merged dict would keep the old arguments
        norm = dict(_delete_=True, **norm)
    planner.result.overrides['model.test_cfg.norm'] = norm
    planner.note(option, shown, f'set model.test_cfg.norm={norm!r}')


def _norm_key(norm: dict) -> tuple:
    """Comparable form of a normaliser config (``IVRNorm`` = ``IVR``)."""
    rest = dict(norm)
    name = str(rest.pop('type', 'MinMax')).replace('Norm', '')
    return name, sorted(rest.items())


def _yaml_data_root(planner: _Planner, option: str, root: str) -> None:
    kind = planner.base['test_dataloader']['dataset'].get('type')
    for key in planner.loaders():
        planner.set(option, root, f'{key}.dataset.data_root', root)
        if kind == 'CUBDataset':  # the releases read the native CUB_200_2011 archive
            planner.set(option, root, f'{key}.dataset.native', True)
        elif kind == 'ImageNetDataset':
            planner.set(option, root, f'{key}.dataset.data_prefix', dict(img_path=''))
    if kind == 'CUBDataset' and base_value(planner.base, 'val_dataloader.dataset.split') \
            not in ('train', 'test'):
        planner.set(option, root, 'val_dataloader.dataset.split', 'test')
        planner.result.overrides['notes'] = ('same-split: the native CUB_200_2011 archive has '
                                             'only train/test; the release evaluates on test')
    if kind == 'ImageNetDataset':
        planner.note(option, root, 'needs wsolevaluation metadata under '
                     f'{root}/metadata/ILSVRC/{{train,val,test}} (tools/dataset_converters/'
                     'imagenet.py; the released ILSVRC2012_list/*.txt are not read)')


def _som_data_root(planner: _Planner, option: str, value: str, opts: dict) -> None:
    ds_dir = {'cub': 'CUB', 'imagenet': 'ILSVRC', 'openimages': 'OpenImages'}[
        K.SOM_DATASETS[opts['dataset_name']]]
    if option == 'data_root':
        for key in planner.loaders():
            planner.set(option, value, f'{key}.dataset.data_root', value)
    elif option == 'metadata_root':
        if osp.isabs(value):
            for key in planner.loaders():
                split = base_value(planner.base, f'{key}.dataset.split')
                planner.set(option, value, f'{key}.dataset.ann_file',
                            osp.join(value, ds_dir, str(split)))
        else:
            planner.note(option, value, f'relative to the released repository: copy '
                         f'{osp.join(value, ds_dir)} to <data_root>/metadata/{ds_dir}')
    elif option == 'mask_root' and value != opts['data_root'] and ds_dir == 'OpenImages':
        for key in planner.loaders():
            planner.set(option, value, f'{key}.dataset.data_prefix',
                        dict(img_path='OpenImages', mask_path=osp.join(value, 'OpenImages')))


def _apply_table(planner: _Planner, table, ignored: dict, given: dict, defaults: dict,
                 crop_base: bool) -> None:
    effective = {**defaults, **{k: v for k, (v, _) in given.items()}}
    done = set()
    for option, target, use_default in table:
        if option not in given and not use_default:
            continue
        value = effective[option]
        shown = value if option in given else f'{value!r} (released default)'
        targets = target if isinstance(target, tuple) else (target, )
        for path in targets:
            if path.startswith('@'):
                if (path, option) in done or (path in _COMBINED and path in done):
                    continue
                done.update({(path, option), path})
                _handle(planner, path, option, value, effective)
                continue
            path = next((p for p in path.split('|') if base_value(planner.base, p)
                         is not _MISSING), path.split('|')[0])
            if crop_base and option in K.CROP_KEYS and base_value(planner.base,
                                                                    path) is _MISSING:
                raise ReleasedConfigError(
                    f'release_key_map.CROP_KEYS is out of date: {planner.result.base} has no '
                    f'{path} (for --{option}); update the table')
            planner.set(option, shown, path, value)
    mapped = {opt for opt, _, _ in table}
    for option, (value, _) in given.items():
        if option not in mapped:
            planner.note(option, value, 'ignored: ' + ignored.get(
                option, 'parsed but not used by the released training'))


def _check(planner: _Planner) -> None:
    flat = {p: v for p, v in planner.result.overrides.items() if '[' not in p}
    try:
        check_cfg_options(planner.cfg, flat)
    except ConfigOptionError as err:
        raise ReleasedConfigError(f'release_key_map is out of date for '
                                  f'{planner.result.base}: {err}') from None


def _find_base(folder: str, name: str, configs_root: str) -> str:
    path = osp.join(configs_root, folder, f'{name}.py')
    if not osp.isfile(path):
        have = sorted(p[:-3] for p in os.listdir(osp.join(configs_root, folder))
                      if p.endswith('.py')) if osp.isdir(osp.join(configs_root, folder)) else []
        raise ReleasedConfigError(f'no wsol_mm config {folder}/{name}.py for this released '
                                  f'config; {folder}/ has {have} (pass --base CONFIG)')
    return path


def import_yaml(path: str, released_args: Sequence[str] = (), gpus: int = 1,
                base: Optional[str] = None,
                configs_root: str = osp.join(REPO_ROOT, 'configs')) -> ImportResult:
    """Plan for an LCA-MD / TS-CAM / SCM YAML file plus its ``train_cam.py`` arguments."""
    with open(path, encoding='utf-8') as f:
        given = read_release_yaml(f.read(), path)
    _, cli = read_train_cam_args(list(released_args), 'command line')
    given.update(cli)
    effective = {**K.YAML_DEFAULTS, **{k: v for k, (v, _) in given.items()}}
    if base is None:
        arch, dataset = effective['MODEL.ARCH'], effective['DATA.DATASET']
        if arch not in K.ARCH_TABLE or dataset not in K.YAML_DATASETS:
            where = given.get('MODEL.ARCH', (None, path))[1]
            raise ReleasedConfigError(f'{where}: MODEL.ARCH {arch!r} / DATA.DATASET '
                                      f'{dataset!r} has no wsol_mm config; known: '
                                      f'{sorted(K.ARCH_TABLE)} x {sorted(K.YAML_DATASETS)} '
                                      '(pass --base CONFIG)')
        folder, backbone = K.ARCH_TABLE[arch]
        base = _find_base(folder, f'{backbone}_{K.YAML_DATASETS[dataset]}', configs_root)
    planner = _Planner(base, gpus)
    _apply_table(planner, K.YAML_MAP, K.YAML_IGNORED, given,
                 {**K.YAML_DEFAULTS, **K.YAML_CLI_DEFAULTS}, crop_base=False)
    _check(planner)
    return planner.finish()


def choose_som_base(opts: dict, where: str, configs_root: str) -> str:
    """The configs/ file of a Small Object Matters run (method, backbone, dataset, variant)."""
    arch, dataset, method = opts['architecture'], opts['dataset_name'], opts['wsol_method']
    if arch not in K.SOM_ARCHS or dataset not in K.SOM_DATASETS or method not in K.SOM_METHODS:
        raise ReleasedConfigError(f'{where}: --architecture {arch} --dataset_name {dataset} '
                                  f'--wsol_method {method} has no wsol_mm config (architectures '
                                  f'{sorted(K.SOM_ARCHS)}, methods {sorted(K.SOM_METHODS)})')
    if method in ('cam', 'base') and opts['crop']:
        method = 'crop'  # main.py runs CropCAM for `--wsol_method crop` or `--crop True`
    folder, suffix = K.SOM_METHODS[method], ''
    if method in K.SOM_CROP_SUFFIXES and opts['crop']:
        folder, suffix = 'crop', K.SOM_CROP_SUFFIXES[method]
    elif method == 'da' and opts['crop']:
        raise ReleasedConfigError(f'{where}: --wsol_method da --crop True does not run in the '
                                  'released main.py; its DA + crop scripts fine-tune a DA '
                                  'checkpoint with --wsol_method crop (configs/crop/*_da.py)')
    elif method == 'crop':
        ckpt = re.split(r'[_.\-/]', osp.basename(str(opts['checkpoint_path'] or '')))
        suffix = '_ivr' if opts['norm_method'] == 'ivr' else '_da' if 'da' in ckpt else ''
    return _find_base(folder, f'{K.SOM_ARCHS[arch]}_{K.SOM_DATASETS[dataset]}{suffix}',
                      configs_root)


def import_script(path: str, gpus: int = 1, base: Optional[str] = None,
                  release_root: Optional[str] = None,
                  configs_root: str = osp.join(REPO_ROOT, 'configs')) -> ImportResult:
    """Plan for a shell script running Small Object Matters' ``main.py`` or ``train_cam.py``."""
    with open(path, encoding='utf-8') as f:
        text = f.read()
    commands = shell_commands(text, path, ('main.py', 'train_cam.py'))
    if len(commands) != 1:
        raise ReleasedConfigError(f'{path}: expected one main.py / train_cam.py command, found '
                                  f'{len(commands)} ({[w for w, _ in commands]})')
    where, tokens = commands[0]
    if '--config_file' in ' '.join(tokens):
        yaml_file, _ = read_train_cam_args(tokens, where)
        candidates = [osp.join(r, yaml_file) for r in
                      (release_root, '', osp.dirname(path), osp.dirname(osp.dirname(path)))
                      if r is not None]
        found = next((c for c in candidates if osp.isfile(c)), None)
        if found is None:
            raise ReleasedConfigError(f'{where}: --config_file {yaml_file} not found; pass '
                                      '--release-root (the released repository folder)')
        rest = [t for i, t in enumerate(tokens) if t != '--config_file'
                and (i == 0 or tokens[i - 1] != '--config_file')]
        return import_yaml(found, rest, gpus, base, configs_root)
    given = read_main_py_args(tokens, where)
    effective = {**K.SOM_DEFAULTS, **{k: v for k, (v, _) in given.items()}}
    base = base or choose_som_base(effective, where, configs_root)
    planner = _Planner(base, gpus)
    crop_base = effective['wsol_method'] == 'crop' or bool(effective['crop'])
    _apply_table(planner, K.SOM_MAP, K.SOM_IGNORED, given, K.SOM_DEFAULTS, crop_base)
    _check(planner)
    return planner.finish()
