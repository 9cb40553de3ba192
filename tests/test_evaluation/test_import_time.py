"""What each import loads: offline evaluation without torch, every public name still there.

Fresh interpreters (subprocesses), so what an earlier test imported does not count.
"""
import ast
import json
import os.path as osp
import subprocess
import sys

import pytest

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))

PACKAGES = ('wsol_mm', 'wsol_mm.apis', 'wsol_mm.datasets', 'wsol_mm.datasets.transforms',
            'wsol_mm.engine', 'wsol_mm.evaluation', 'wsol_mm.evaluation.functional',
            'wsol_mm.evaluation.metrics', 'wsol_mm.evaluation.scorers', 'wsol_mm.fileio',
            'wsol_mm.models', 'wsol_mm.structures', 'wsol_mm.utils', 'wsol_mm.visualization')


def _run(code: str) -> dict:
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_offline_evaluation_imports_without_torch_or_mmengine():
    loaded = _run(
        'import json, sys\n'
        'import wsol_mm\n'
        'from wsol_mm.evaluation.offline_eval import evaluate_scoremaps\n'
        'from wsol_mm.evaluation.scorers import MaxBoxAccV2Scorer, PxAPScorer\n'
        'from wsol_mm.evaluation.functional import scan_thresholds\n'
        'from wsol_mm.datasets.metadata import read_wsol_metadata\n'
        'print(json.dumps(sorted(m for m in ("torch", "mmengine", "torchvision", "timm",\n'
        '                                    "wsol_mm.compat") if m in sys.modules)))')
    assert loaded == []


# packages whose modules import torchvision, timm or mmengine's Runner, or load checkpoints
SHIMMED = ('wsol_mm/registry.py', 'wsol_mm/models/__init__.py',
           'wsol_mm/datasets/transforms/__init__.py', 'wsol_mm/engine/__init__.py',
           'wsol_mm/apis/__init__.py', 'wsol_mm/utils/__init__.py', 'wsol_mm/fileio/__init__.py',
           'wsol_mm/visualization/__init__.py')


@pytest.mark.parametrize('path', SHIMMED)
def test_shims_are_the_first_wsol_mm_import_of_those_packages(path):
    tree = ast.parse(open(osp.join(REPO, path)).read())
    own = [node for node in tree.body if isinstance(node, ast.ImportFrom) and (
        node.level or (node.module or '').startswith('wsol_mm'))]
    assert own and [a.name for a in own[0].names] == ['compat'], path


@pytest.mark.parametrize('module', ['wsol_mm.registry', 'wsol_mm.models'])
def test_subpackages_that_need_the_shims_load_them_first(module):
    # wsol_mm.compat must start before torchvision / timm / mmengine's Runner: a finder
    # that only records names sees the order in which imports start
    order = _run(
        'import json, sys\n'
        'started = []\n'
        'class Recorder:\n'
        '    def find_spec(self, name, path=None, target=None):\n'
        '        started.append(name)\n'
        'sys.meta_path.insert(0, Recorder())\n'
        f'import {module}\n'
        'print(json.dumps({m: started.index(m) for m in ("wsol_mm.compat", "torchvision",\n'
        '                  "timm", "mmengine.runner") if m in started}))')
    assert 'wsol_mm.compat' in order, module
    assert all(order['wsol_mm.compat'] <= order[m] for m in order), order


def test_every_public_name_still_imports():
    missing = _run(
        'import importlib, json\n'
        'missing = []\n'
        f'for pkg in {PACKAGES!r}:\n'
        '    module = importlib.import_module(pkg)\n'
        '    for name in getattr(module, "__all__", []):\n'
        '        if getattr(module, name, None) is None:\n'
        '            missing.append(f"{pkg}.{name}")\n'
        'from wsol_mm.datasets import CUBDataset, RandomFlip, MetadataError, metadata\n'
        'from wsol_mm.evaluation import MaxBoxAccV2Metric, PxAPScorer, scan_cutoffs\n'
        'print(json.dumps(missing))')
    assert missing == []


def test_registries_find_lazily_exported_classes_without_register_all_modules():
    # the locations import the modules that register the classes, not the lazy inits
    found = _run(
        'import json\n'
        'from mmengine.registry import DefaultScope\n'
        'from wsol_mm.registry import DATASETS, METRICS, TRANSFORMS\n'
        'DefaultScope.get_instance("t", scope_name="wsol_mm")\n'
        'print(json.dumps([r.get(n) is not None for r, n in ((DATASETS, "CUBDataset"),\n'
        '    (METRICS, "MaxBoxAccV2Metric"), (TRANSFORMS, "RandomFlip"))]))')
    assert found == [True, True, True]
