"""env_cfg.cpu_malloc: validated settings, applied once by the runner on CPU runs."""
import glob
import json
import os
import platform
import subprocess
import sys

import pytest
import torch
from mmengine.config import Config

from tests.test_tools.vis_tool_utils import write_config
from wsol_mm.utils import UserError
from wsol_mm.utils.cpu_malloc import apply_cpu_malloc, check_cpu_malloc_cfg

MIB = 1024**2
SHIPPED_CFG = Config.fromfile('configs/_base_/default_runtime.py').env_cfg.cpu_malloc
SHIPPED = dict(SHIPPED_CFG, enable=True)  # opt-in: off as shipped

# In a fresh process: malloc 20 MiB, count the mmapped chunks (mallinfo2.hblks), free it,
# read the heap size (mallinfo2.arena), the same for 2.4 GB; with the settings applied first
# (argv[1] == '1').
PROBE = r'''
import ctypes, json, sys
from wsol_mm.utils.cpu_malloc import apply_cpu_malloc
class Info(ctypes.Structure):
    _fields_ = [(n, ctypes.c_size_t) for n in ('arena', 'ordblks', 'smblks', 'hblks',
                'hblkhd', 'usmblks', 'fsmblks', 'uordblks', 'fordblks', 'keepcost')]
libc = ctypes.CDLL(None)
libc.mallinfo2.restype = Info
libc.malloc.restype, libc.malloc.argtypes = ctypes.c_void_p, [ctypes.c_size_t]
libc.free.argtypes = [ctypes.c_void_p]
note = ''
if sys.argv[1] == '1':
    note = apply_cpu_malloc(json.loads(sys.argv[2]), on_cpu=True, environ={})
before = libc.mallinfo2()
p = libc.malloc(20 << 20)
ctypes.memset(p, 1, 20 << 20)
during = libc.mallinfo2()
libc.free(p)
after = libc.mallinfo2()
# 2.4 GB of 30 MiB blocks (untouched: address space only), then freed: glibc would give
# the heap top back above a trim threshold of 2 GiB, the largest a positive value can be
blocks = [libc.malloc(30 << 20) for _ in range(80)]
for q in reversed(blocks):
    libc.free(q)
end = libc.mallinfo2()
print(json.dumps(dict(note=note, mmapped=during.hblks - before.hblks,
                      kept=after.arena - before.arena, kept_big=end.arena - after.arena)))
'''


def test_shipped_settings_are_valid_off_by_default_and_off_when_none():
    assert check_cpu_malloc_cfg(SHIPPED) == dict(mmap_threshold=32 * MIB,
                                                 trim_threshold=-1, top_pad=64 * MIB)
    assert SHIPPED_CFG.enable is False and check_cpu_malloc_cfg(SHIPPED_CFG) == {}
    assert apply_cpu_malloc(SHIPPED_CFG, on_cpu=True) == ''
    assert check_cpu_malloc_cfg(None) == {} and check_cpu_malloc_cfg({}) == {}
    assert apply_cpu_malloc(None, on_cpu=True) == ''
    assert apply_cpu_malloc(dict(SHIPPED), on_cpu=False) == ''  # GPU runs: untouched


@pytest.mark.parametrize('cfg, key, wanted', [
    (dict(mmap_threshold=64 * MIB), 'env_cfg.cpu_malloc.mmap_threshold', '33554432'),
    (dict(trim_threshold=2**32), 'env_cfg.cpu_malloc.trim_threshold', '2147483647'),
    (dict(trim_threshold=-2), 'env_cfg.cpu_malloc.trim_threshold', 'or -1 (never trim)'),
    (dict(top_pad=-1), 'env_cfg.cpu_malloc.top_pad', 'got -1'),
    (dict(top_pad=1.5), 'env_cfg.cpu_malloc.top_pad', 'got 1.5'),
    (dict(top_pad=True), 'env_cfg.cpu_malloc.top_pad', 'got True'),
    (dict(mmap_max=0), 'env_cfg.cpu_malloc', "unknown keys ['mmap_max']"),
    ('32M', 'env_cfg.cpu_malloc', 'must be a dict'),
    (dict(enable='yes'), 'env_cfg.cpu_malloc.enable', "got 'yes'"),
])
def test_bad_settings_name_the_key(cfg, key, wanted):
    with pytest.raises(UserError) as err:
        apply_cpu_malloc(cfg, on_cpu=False)  # refused on any machine, before anything runs
    assert f'`{key}`' in str(err.value) and wanted in str(err.value)


@pytest.mark.parametrize('environ, reason', [
    (dict(LD_PRELOAD='/usr/lib/libjemalloc.so.2'), 'jemalloc is preloaded'),
    (dict(MALLOC_TOP_PAD_='0', MALLOC_MMAP_MAX_='0'), 'MALLOC_TOP_PAD_, MALLOC_MMAP_MAX_'),
    (dict(GLIBC_TUNABLES='glibc.malloc.trim_threshold=0'), 'sets GLIBC_TUNABLES'),
])
def test_the_users_own_allocator_settings_win(environ, reason):
    note = apply_cpu_malloc(dict(SHIPPED), on_cpu=True, environ=environ)
    assert note.startswith('glibc malloc settings not applied') and reason in note


def test_nothing_is_applied_off_glibc(monkeypatch):
    def no_glibc(name):
        raise ValueError(f'unrecognized configuration name {name}')  # as on musl / macOS

    monkeypatch.setattr(os, 'confstr', no_glibc)
    note = apply_cpu_malloc(dict(SHIPPED), on_cpu=True, environ={})
    assert note == 'glibc malloc settings not applied: not a glibc system'


@pytest.mark.skipif(platform.libc_ver()[0] != 'glibc', reason='glibc only')
def test_settings_keep_large_blocks_in_the_heap():
    env = {k: v for k, v in os.environ.items()  # glibc's defaults, whatever the caller set
           if not k.startswith('MALLOC_') and k not in ('GLIBC_TUNABLES', 'LD_PRELOAD')}

    def probe(apply: bool) -> dict:
        out = subprocess.run([sys.executable, '-c', PROBE, str(int(apply)), json.dumps(SHIPPED)],
                             capture_output=True, text=True, check=True, env=env).stdout
        return json.loads(out)

    default, tuned = probe(False), probe(True)
    assert default['mmapped'] == 1  # glibc's default: a fresh 20 MiB block is mmapped
    assert tuned['note'] == 'glibc malloc: mmap threshold 32 MiB, no trimming, top pad 64 MiB'
    assert tuned['mmapped'] == 0  # from the heap instead
    assert tuned['kept'] >= 20 * MIB  # and, freed, it stays there for the next step
    assert default['kept_big'] == 0  # mmapped: unmapped when freed
    assert tuned['kept_big'] > 2 * 1024**3  # kept, above 2 GiB too: no trimming at all


def _tiny_cfg(tiny_synthetic: str, tmp_path, name: str) -> Config:
    """The quickstart config on the tiny data, with its own work dir, visualizer and logger."""
    cfg = Config.fromfile(write_config(str(tmp_path / 'cfg.py'), tiny_synthetic))
    cfg.work_dir = str(tmp_path / 'work')
    cfg.visualizer.name = f'vis_{name}_{tmp_path.name}'
    cfg.experiment_name = f'cpu_malloc_{name}_{tmp_path.name}'  # not a reused logger
    return cfg


def test_runner_applies_the_config_on_cpu(tiny_synthetic, tmp_path, capsys, monkeypatch):
    from wsol_mm.apis.runner_utils import build_runner
    from wsol_mm.engine.runner import wsol_runner
    calls = []

    def record(cfg, on_cpu):  # not the real mallopt: it would change this test process
        calls.append((check_cpu_malloc_cfg(cfg), on_cpu))
        return 'glibc malloc: recorded'

    monkeypatch.setattr(wsol_runner, 'apply_cpu_malloc', record)
    cfg = _tiny_cfg(tiny_synthetic, tmp_path, 'on')
    cfg.merge_from_dict({'env_cfg.cpu_malloc.enable': True})  # as --cfg-options does
    build_runner(cfg)
    assert calls == [(check_cpu_malloc_cfg(SHIPPED), not torch.cuda.is_available())]
    assert 'memory     glibc malloc: recorded (env_cfg.cpu_malloc)' in capsys.readouterr().out


def test_runner_refuses_a_bad_setting(tiny_synthetic, tmp_path):
    from wsol_mm.apis.runner_utils import build_runner
    cfg = _tiny_cfg(tiny_synthetic, tmp_path, 'bad')
    cfg.env_cfg.cpu_malloc = dict(mmap_threshold=64 * MIB)
    with pytest.raises(UserError, match=r'`env_cfg.cpu_malloc.mmap_threshold`'):
        build_runner(cfg)


def test_the_deit_and_crop_resnet50_configs_keep_freed_memory_the_others_do_not():
    """On for the DeiT / ViT method configs (same peak memory, 1.06x there) and for crop
    consistency ResNet50 on CUB with its variants (1.07x, +1.5-3.3 % peak memory, still below
    the released step's); off for the other CNN, Conformer and crop consistency configs
    (VGG16: +11 % peak memory; InceptionV3: no gain; DeiT crop: as the CNNs)."""
    on = sorted(glob.glob('configs/tscam/deit_*.py') + glob.glob('configs/scm/deit_*.py')
                + glob.glob('configs/lca_md/deit_*.py') + glob.glob('configs/lca_md/vit_*.py'))
    assert len(on) == 14, on
    on += [f'configs/crop/resnet50_cub{v}.py'  # the CUB config and its five variants
           for v in ('', '_cutmix', '_adl', '_da_joint', '_has', '_brid_joint')]
    off = ['configs/crop/deit_s_cub_tscam.py', 'configs/crop/deit_s_cub_scm.py',
           'configs/crop/deit_s_cub_lca_md.py', 'configs/crop/vgg16_cub.py',
           'configs/crop/inception_v3_cub.py', 'configs/crop/resnet50_imagenet.py',
           'configs/cam/resnet50_cub.py', 'configs/tscam/conformer_s_cub.py',
           'configs/cam/resnet18_synthetic.py']
    for path in on + off:
        settings = check_cpu_malloc_cfg(Config.fromfile(path).env_cfg.cpu_malloc)
        assert settings == (check_cpu_malloc_cfg(SHIPPED) if path in on else {}), path
