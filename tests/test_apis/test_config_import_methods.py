"""import_config on Small Object Matters scripts of the wsolevaluation methods (HaS, CutMix,
ADL, ACoL, SPG), with and without ``--crop``. The scripts are written for these tests."""
import glob
import os.path as osp

import pytest
from mmengine.config import Config

from wsol_mm.apis.config_import import (
    _MISSING,
    REPO_ROOT,
    base_value,
    import_script,
)
from wsol_mm.apis.config_render import render_config, write_config
from wsol_mm.apis.release_formats import ReleasedConfigError
from wsol_mm.apis.release_key_map import METHOD_KEYS, SOM_DEFAULTS

# option -> a value other than the released default, per method
CHANGED = {
    'has': {'has_grid_size': 8, 'has_drop_rate': 0.4},
    'cutmix': {'cutmix_beta': 0.5, 'cutmix_prob': 0.7},
    'adl': {'adl_drop_rate': 0.6, 'adl_threshold': 0.8},
    'acol': {'acol_threshold': 0.6},
    'spg': {'spg_threshold_1h': 0.8, 'spg_threshold_1l': 0.02, 'spg_threshold_2h': 0.6,
            'spg_threshold_2l': 0.04, 'spg_threshold_3h': 0.75, 'spg_threshold_3l': 0.2},
}


def _script(tmp_path, method: str, arch: str, options: dict, extra: str = '') -> str:
    flags = ' '.join(f'--{k} {v}' for k, v in options.items())
    text = ('#!/bin/bash\n'
            f'python main.py --data_root /data/wsol/ --architecture {arch} \\\n'
            f'  --wsol_method {method} --dataset_name CUB --epochs 50 {flags} {extra}\n')
    path = tmp_path / f'{method}_{arch}.sh'
    path.write_text(text)
    return str(path)


def _generated(tmp_path, result) -> dict:
    out = str(tmp_path / 'gen' / 'imported.py')
    write_config(render_config(result, out, 'test script'), out, overwrite=True)
    return Config.fromfile(out).to_dict()


def _values(cfg: dict, option: str) -> list:
    targets = METHOD_KEYS[option]
    targets = targets if isinstance(targets, tuple) else (targets, )
    return [v for v in (base_value(cfg, t) for t in targets) if v is not _MISSING]


@pytest.mark.parametrize('method', sorted(CHANGED))
@pytest.mark.parametrize('arch', ['resnet50', 'vgg16', 'inception_v3'])
def test_method_script_sets_its_options(tmp_path, method, arch):
    result = import_script(_script(tmp_path, method, arch, CHANGED[method]))
    assert result.base == osp.join(REPO_ROOT, 'configs', method, f'{arch}_cub.py')
    cfg = _generated(tmp_path, result)
    for option, value in CHANGED[method].items():
        found = _values(cfg, option)
        assert found and all(v == pytest.approx(value) for v in found), (option, found)
    if method == 'adl' and arch == 'inception_v3':  # InceptionV3-ADL: backbone and head
        assert len(_values(cfg, 'adl_drop_rate')) == 2
    report = {opt: outcome for opt, _, outcome in result.report}
    assert all(report[opt].startswith('set ') for opt in CHANGED[method]), report


@pytest.mark.parametrize('method', sorted(CHANGED))
def test_released_defaults_are_the_configs_values(tmp_path, method):
    """Given explicitly with the released defaults, the options change nothing."""
    defaults = {opt: SOM_DEFAULTS[opt] for opt in CHANGED[method]}
    result = import_script(_script(tmp_path, method, 'resnet50', defaults))
    report = {opt: outcome for opt, _, outcome in result.report}
    for opt in defaults:
        assert report[opt].startswith('same as the base'), (opt, report[opt])
        assert not any(t in path for path in result.overrides
                       for t in (METHOD_KEYS[opt] if isinstance(METHOD_KEYS[opt], tuple)
                                 else (METHOD_KEYS[opt], )))


@pytest.mark.parametrize('method', sorted(CHANGED))
def test_crop_variant_of_each_method(tmp_path, method):
    result = import_script(_script(tmp_path, method, 'resnet50', CHANGED[method],
                                   '--crop TRUE --crop_threshold 0.3 --crop_start_epoch 20'))
    assert result.base == osp.join(REPO_ROOT, 'configs', 'crop', f'resnet50_cub_{method}.py')
    cfg = _generated(tmp_path, result)
    assert cfg['model']['crop_threshold'] == pytest.approx(0.3)
    assert [h['start_epoch'] for h in cfg['custom_hooks']
            if h['type'] == 'CropConsistencyHook'] == [20]
    for option, value in CHANGED[method].items():
        assert _values(cfg, option)[0] == pytest.approx(value), option


def test_crop_variant_that_does_not_exist_lists_the_choices(tmp_path):
    with pytest.raises(ReleasedConfigError, match=r'no wsol_mm config crop/vgg16_cub_acol.py'):
        import_script(_script(tmp_path, 'acol', 'vgg16', {}, '--crop TRUE'))


def test_method_options_on_another_method_are_reported_ignored(tmp_path):
    result = import_script(_script(tmp_path, 'cam', 'resnet50', CHANGED['has']))
    assert result.base.endswith('configs/cam/resnet50_cub.py')
    report = {opt: outcome for opt, _, outcome in result.report}
    assert report['has_grid_size'].startswith('ignored: the base config has no '
                                              'model.data_preprocessor.batch_augments')
    assert not result.overrides.get('model.data_preprocessor.batch_augments')


def test_method_key_table_matches_every_method_config():
    """release_key_map.METHOD_KEYS must follow configs/<method> (update it when keys move)."""
    prefixes = {'has': 'has_', 'cutmix': 'cutmix_', 'adl': 'adl_', 'acol': 'acol_',
                'spg': 'spg_'}
    for method, prefix in prefixes.items():
        for path in sorted(glob.glob(osp.join(REPO_ROOT, 'configs', method, '*.py'))) + \
                sorted(glob.glob(osp.join(REPO_ROOT, 'configs', 'crop', f'*_{method}.py'))):
            cfg = Config.fromfile(path).to_dict()
            for option in (o for o in METHOD_KEYS if o.startswith(prefix)):
                assert _values(cfg, option), (path, option)


@pytest.mark.parametrize('method', ['cam', 'base'])
def test_cam_with_crop_flag_imports_onto_the_crop_config(tmp_path, method):
    """main.py runs CropCAM for `--wsol_method crop` and for `--crop True` alike."""
    result = import_script(_script(tmp_path, method, 'vgg16', {'crop': 'True'}))
    assert result.base == osp.join(REPO_ROOT, 'configs', 'crop', 'vgg16_cub.py')
    cfg = _generated(tmp_path, result)
    assert cfg['model']['type'] == 'CropConsistency'
