"""``benchmarks/train_step.py`` (issue 14's training benchmark) runs on the shipped configs: one
DeiT method and one crop consistency method at a small size, float32 and bfloat16, in one
process and with a process per variant (timings are printed, never asserted)."""
import importlib
import math
import os
import os.path as osp
import re
import subprocess
import sys

import pytest
import torch
from mmengine.logging import MMLogger
from script_runner import run_script

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))
NUM = r'[0-9]+\.[0-9]+'


def run_benchmark(*args: str, script: str = 'train_step.py') -> subprocess.CompletedProcess:
    out = run_script([sys.executable, osp.join('benchmarks', script), *args], cwd=REPO)
    assert out.returncode == 0, out.stderr[-3000:]
    return out


def test_train_step_prints_every_table_row():
    # one process (a process per variant would start 14 of them: see the next test); 32 px
    # and no warm-up step, since bfloat16 convolutions take torch's slow path (~20x float32)
    # on CPUs without AVX-512-BF16 or AMX
    out = run_benchmark('--methods', 'tscam', 'crop_resnet50', '--size', '32', '--batch', '2',
                        '--steps', '1', '--warmup', '0', '--threads', '1', '--shared-process')
    assert ', round-robin, one process, equal draws per step index\n' in out.stdout
    machine = re.search(r'^# CPU .*?, 1 threads, (.*), torch [^,]*, \w+ malloc, load average',
                        out.stdout, re.M)
    assert machine, out.stdout
    assert re.fullmatch(r'bf16 yes \((AVX-512-BF16, no AMX|AVX-512-BF16 and AMX|AMX)\)|'
                        r'bf16 NO: this CPU lacks AVX-512-BF16 and AMX, bf16 runs emulated '
                        r'\(slow\)', machine[1]), machine[1]
    for method, released in (('tscam', '1.02'), ('crop_resnet50', '2.08')):
        # img/s, plain img/s, overhead, released overhead, below released, the paired
        # steps' reading (one step: no interval), estimate, bf16 img/s and speed-up
        row = rf'^\| {method} \| {NUM} \| {NUM} \| {NUM} \| {released} \| (yes|NO) \| ' \
              rf'- \(too few paired steps for a 95 % interval: 1\) \| {NUM} \| {NUM} \| {NUM} \| '
        assert re.search(row, out.stdout, re.M), f'no {method} row in:\n{out.stdout}'
    for backbone, reference in (('deit_s', 'timm'), ('resnet50', 'torchvision')):
        row = rf'^\| {backbone} \| {NUM} \| {reference} \| {NUM} \| {NUM} \| ' \
              r'- \(too few paired steps for a 95 % interval: 1\) \| '
        assert re.search(row, out.stdout, re.M), f'no {backbone} row in:\n{out.stdout}'


def test_train_step_runs_each_variant_in_its_own_process():
    out = run_benchmark('--methods', 'crop_resnet50', '--size', '64', '--batch', '2', '--steps',
                        '1', '--rounds', '2', '--threads', '1', '--no-bf16',
                        '--start-method', 'forkserver', '--independent-draws')
    assert ', round-robin, one process per variant, independent draws, 2 rounds\n' \
        in out.stdout
    # ... overhead, released 2.08, yes/NO with the rounds below it, estimate, saved MB, page
    # faults, peak RSS MB
    row = re.search(rf'^\| crop_resnet50 \| {NUM} \| {NUM} \| {NUM} \| 2\.08 \| '
                    rf'(?:yes|NO) \([0-2] of 2 rounds below\) \| '
                    r'- \(too few paired steps for a 95 % interval: 2\) \| '
                    rf'{NUM} \| [0-9]+ / [0-9]+ \| [0-9]+ / [0-9]+ \| ([0-9]+) / ([0-9]+) \|',
                    out.stdout, re.M)
    assert row, out.stdout
    # each process's own peak: the two-pass step holds more than the plain one, and both
    # hold torch and a ResNet50 with its optimizer state (> 300 MB)
    assert int(row[1]) > int(row[2]) > 300, row[0]
    # the plain step ran under crop consistency's config, its heap settings included
    method_notes = re.search(r'^\| crop_resnet50 \|.* \| ([^|]+) \|$', out.stdout, re.M)[1]
    plain = re.search(r'^\| resnet50 \| .* \| wsol_mm: ([^|]+) \(crop_resnet50\'s config\); '
                      r'torchvision: 2 param groups \|$', out.stdout, re.M)
    assert plain and plain[1] == method_notes, out.stdout
    steps = dict(re.findall(r'^# steps ([a-z_0-9]+): ((?:[0-9.]+ )+)s', out.stderr, re.M))
    assert sorted(steps) == ['contiguous', 'crop_resnet50', 'plain', 'ref'], out.stderr
    assert all(len(times.split()) == 2 for times in steps.values()), steps  # 1 per round
    assert len(re.findall(r'^# timing resnet50, round [12]: ', out.stderr, re.M)) == 2


def test_rounds_below_the_released_overhead_are_counted_per_round(monkeypatch):
    """Each round's ratio is its own steps' statistic over the plain step's in that round;
    the verdict is the whole run's, the count the rounds' (one round: no count)."""
    monkeypatch.syspath_prepend(osp.join(REPO, 'benchmarks'))
    report = importlib.import_module('step_report')
    variant = importlib.import_module('variants').Variant
    m, p = variant('m', None), variant('p', None)
    m.times, p.times = [2.0, 2.2, 1.9, 2.1, 2.4, 2.3], [1.0, 1.0, 1.0, 1.0, 1.0, 2.0]
    # min: rounds 2.0 / 1.0, 1.9 / 1.0, 2.3 / 1.0; the run 1.9 / 1.0
    monkeypatch.setattr(report, 'STAT_NAME', ['min'])
    assert report.round_ratios(m, p, 2) == pytest.approx([2.0, 1.9, 2.3], abs=1e-12)
    assert report.below_released(m, p, 2, 2.05) == 'yes (2 of 3 rounds below)'
    assert report.below_released(m, p, 2, 1.8) == 'NO (0 of 3 rounds below)'
    assert report.below_released(m, p, 6, 2.05) == 'yes'
    # median: rounds 2.1 / 1.0, 2.0 / 1.0, 2.35 / 1.5 (a slow plain round); the run 2.15 / 1.0
    monkeypatch.setattr(report, 'STAT_NAME', ['median'])
    assert report.round_ratios(m, p, 2) == pytest.approx([2.1, 2.0, 2.35 / 1.5], abs=1e-12)
    assert report.below_released(m, p, 2, 2.05) == 'NO (2 of 3 rounds below)'
    assert report.below_released(m, p, 2, 1.8) == 'NO (1 of 3 rounds below)'
    assert report.below_released(m, p, 6, 2.05) == 'NO'


def test_the_median_interval_is_the_sign_tests_and_holds_its_level(monkeypatch):
    """The interval's order statistics are the largest whose both tails stay within 2.5 %
    of Binomial(n, 1/2), for every n; below 6 values there is none."""
    monkeypatch.syspath_prepend(osp.join(REPO, 'benchmarks'))
    report = importlib.import_module('step_report')
    for n in range(1, 61):
        values = [float(v) for v in range(n, 0, -1)]  # the order statistics are 1..n
        found = report.median_interval(values)
        k = 0  # the sign test's k, counted here from the binomial tail
        while sum(math.comb(n, j) for j in range(k + 1)) / 2**n <= 0.025:
            k += 1
        if n < 6:
            assert found is None and k == 0, (n, found)
            continue
        mid, low, high = found
        assert (low, high) == (k, n + 1 - k), (n, found, k)
        assert mid == (n + 1) / 2
        assert 1 - 2 * sum(math.comb(n, j) for j in range(k)) / 2**n >= 0.95
        assert 1 - 2 * sum(math.comb(n, j) for j in range(k + 1)) / 2**n < 0.95
    assert report.median_interval([1.0] * 15, 0.95) == (1.0, 1.0, 1.0)
    # n = 15: x_(4) and x_(12), coverage 1 - 2 x 576 / 32768 = 96.5 %
    assert report.median_interval([float(v) for v in range(15)])[1:] == (3.0, 11.0)


def test_the_paired_reading_pairs_steps_by_index_and_places_the_target(monkeypatch):
    monkeypatch.syspath_prepend(osp.join(REPO, 'benchmarks'))
    report = importlib.import_module('step_report')
    variant = importlib.import_module('variants').Variant
    m, p = variant('m', None), variant('p', None)
    # a slow phase doubles both sides of steps 3-5: the pairs keep their ratio
    p.times = [1.0, 1.0, 1.0, 2.0, 2.0, 2.0, 1.0, 1.0]
    ratios = [1.05, 1.06, 1.07, 1.08, 1.04, 1.066, 1.075, 1.055]
    m.times = [r * t for r, t in zip(ratios, p.times)]
    assert report.paired_ratios(m, p) == pytest.approx(ratios, rel=1e-12)
    # n = 8: k = 1, the interval is the lowest to the highest ratio
    assert report.paired_reading(m, p, 1.09) == '1.063 (1.040-1.080): below 1.09'
    assert report.paired_reading(m, p, 1.03) == '1.063 (1.040-1.080): above 1.03'
    assert report.paired_reading(m, p, 1.08) == '1.063 (1.040-1.080): undecided 1.08'
    assert report.paired_reading(p, m, 0.9, digits=2) == '0.94 (0.93-0.96): above 0.90'
    m.times, p.times = m.times[:5], p.times[:5]
    assert report.paired_reading(m, p, 1.08) == \
        '- (too few paired steps for a 95 % interval: 5)'


def test_a_variant_that_fails_in_its_process_is_named():
    code = (
        'import sys; sys.path.insert(0, "benchmarks")\n'
        'from train_step import build_variant\n'
        'from variants import VariantProcess, run_family\n'
        'spec = dict(name="plain", role="plain", family="resnet50", config="configs/nope.py",\n'
        '            size=64, batch=2, device="cpu", bf16=False)\n'
        'if __name__ == "__main__":\n'
        '    run_family([VariantProcess(build_variant, spec, 1)], 0, 1, "cpu")\n')
    out = subprocess.run([sys.executable, '-c', code], cwd=REPO, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode != 0
    assert 'RuntimeError: plain failed in its process:' in out.stderr, out.stderr[-3000:]
    assert 'configs/nope.py' in out.stderr, out.stderr[-3000:]
    # that error alone (stopping the failed process raises nothing more)
    assert 'another exception occurred' not in out.stderr, out.stderr[-3000:]


FIRST_IMPORTS = """
import sys
sys.path.insert(0, 'benchmarks')
from variants import Variant, VariantProcess, run_family, set_start_method


def build(spec):
    variant = Variant(spec['name'], lambda: None)
    # what the process had imported before it built anything
    variant.notes = ' '.join(str(m in sys.modules) for m in ('torch', 'wsol_mm.models'))
    return variant


if __name__ == '__main__':
    set_start_method(sys.argv[1])
    variant = VariantProcess(build, dict(name='probe'), 1)
    run_family([variant], 0, 1, 'cpu')
    print('imported:', variant.notes)
"""


@pytest.mark.parametrize('method,expected', [('spawn', 'True False'),
                                             ('forkserver', 'True True')])
def test_forkserver_children_start_with_the_modules_imported(tmp_path, method, expected):
    """``--start-method forkserver``: each variant's process forks from a server that
    imported the script and wsol_mm's registries once; a spawned one imports what its
    script imports (torch here) and nothing more until it builds."""
    script = tmp_path / 'probe.py'
    script.write_text(FIRST_IMPORTS)
    out = subprocess.run([sys.executable, str(script), method], cwd=REPO, capture_output=True,
                         text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    assert f'imported: {expected}\n' in out.stdout, out.stdout


def test_an_unknown_start_method_is_refused(monkeypatch):
    monkeypatch.syspath_prepend(osp.join(REPO, 'benchmarks'))
    variants = importlib.import_module('variants')
    with pytest.raises(ValueError, match="start method 'fork': use one of"):
        variants.set_start_method('fork')


def test_variants_in_their_own_process_take_their_configs_malloc_settings():
    """``config_malloc``: the config's ``env_cfg.cpu_malloc`` applied as the runner applies
    it, named in the notes (on in the DeiT configs and crop consistency ResNet50's, off in
    crop consistency VGG16's)."""
    code = ('import sys; sys.path.insert(0, "benchmarks")\n'
            'from train_step import METHODS, build_variant\n'
            'for method in ("tscam", "crop_resnet50", "crop_vgg16"):\n'
            '    spec = dict(name="plain", role="plain", family=METHODS[method][0], size=32,\n'
            '                config=METHODS[method][1], batch=2, device="cpu", bf16=False,\n'
            '                config_malloc=True)\n'
            '    print(method, "|", build_variant(spec).notes)\n')
    env = {k: v for k, v in os.environ.items() if not k.startswith('MALLOC_')}
    out = subprocess.run([sys.executable, '-c', code], cwd=REPO, capture_output=True,
                         text=True, timeout=300, env=dict(env, OMP_NUM_THREADS='1'))
    assert out.returncode == 0, out.stderr[-3000:]
    notes = dict(line.split(' | ') for line in out.stdout.splitlines() if ' | ' in line)
    assert notes['crop_vgg16'] == '2 param groups', notes
    # the settings, or on a libc without them the reason they were not applied
    assert notes['tscam'].startswith('2 param groups, glibc malloc'), notes
    assert notes['crop_resnet50'].startswith('2 param groups, glibc malloc'), notes


def test_a_spawned_process_reports_its_own_peak_not_its_parents():
    """variants.peak_resident_bytes (the peaks of every per-process benchmark) reads the
    child's own high-water mark: ru_maxrss would keep this test process's size at fork."""
    ballast = bytearray(1 << 30)  # 1 GiB resident in this process
    ballast[::4096] = b'\1' * len(ballast[::4096])
    code = ('import sys; sys.path.insert(0, "benchmarks"); import resource; '
            'from variants import peak_resident_bytes; '
            'print(peak_resident_bytes(), resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)')
    out = subprocess.run([sys.executable, '-c', code], cwd=REPO, capture_output=True,
                         text=True, timeout=300, check=True)
    own, inherited = (int(x) for x in out.stdout.split())
    del ballast
    assert inherited * 1024 > 1 << 30  # the fork's copy of this process counted there
    assert 0 < own < 1 << 30  # a Python with torch imported: a few hundred MB


SEEDED_DRAWS = """
import sys
sys.path.insert(0, 'benchmarks')
import torch
from variants import Variant, VariantProcess, run_family, set_start_method


def build(spec):
    torch.rand(spec['skew'])  # the processes' streams differ before the timed steps

    def step():
        with open(spec['path'], 'a') as f:
            f.write(repr(torch.rand(1).item()) + '\\n')

    return Variant(spec['name'], step)


if __name__ == '__main__':
    set_start_method('forkserver')
    seed = None if sys.argv[1] == 'none' else int(sys.argv[1])
    run_family([VariantProcess(build, dict(name=n, path=sys.argv[2] + n, skew=k), 1)
                for k, n in ((1, 'a'), (5, 'b'))], 1, 3, 'cpu', seed)
"""


@pytest.mark.parametrize('seed', [7, None])
def test_timed_steps_of_the_same_index_draw_alike_in_every_process(tmp_path, seed):
    """``run_family(..., seed)``: each variant's process seeds torch with ``seed + i``
    before its ``i``-th timed step (common random numbers); without a seed each keeps its
    own stream. The untimed steps of ``prepare`` draw before the timed ones."""
    script = tmp_path / 'draws.py'
    script.write_text(SEEDED_DRAWS)
    out = subprocess.run([sys.executable, str(script), str(seed).lower(), str(tmp_path / 'd')],
                         cwd=REPO, capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    # the warm-up step and the saved-bytes step of ``prepare``, then the timed steps
    a, b = ((tmp_path / f'd{n}').read_text().split() for n in 'ab')
    assert len(a) == len(b) == 5
    a, b = a[2:], b[2:]
    if seed is None:
        assert a != b
    else:
        expected = []
        for i in range(3):
            torch.manual_seed(seed + i)
            expected.append(repr(torch.rand(1).item()))
        assert a == b == expected


def test_the_deit_steps_drop_the_same_samples_from_the_same_seed(monkeypatch):
    """What the benchmarks' equal draws rely on: wsol_mm's plain DeiT-S, TS-CAM, SCM and
    LCA-MD steps consume torch's generator alike, so from one seed their blocks skip the
    same samples' branches."""
    monkeypatch.syspath_prepend(osp.join(REPO, 'benchmarks'))
    train_step = importlib.import_module('train_step')
    cls_attention = importlib.import_module('wsol_mm.models.utils.cls_attention')
    draw_path, kept = cls_attention._draw_path, []

    def spy(*args):
        out = draw_path(*args)
        kept.append(None if out is None else (out[0].flatten() > 0).tolist())
        return out

    monkeypatch.setattr(cls_attention, '_draw_path', spy)
    logger = MMLogger.get_current_instance()
    level = logger.level  # build_variant quietens it: restored below
    masks = {}
    try:
        with torch.random.fork_rng():  # the seeds below stay in this test
            for role, method in (('plain', 'tscam'), ('method', 'tscam'), ('method', 'scm'),
                                 ('method', 'lcamd')):
                spec = dict(name=method, role=role, family='deit_s', size=64, batch=4,
                            device='cpu', bf16=False, config=train_step.METHODS[method][1])
                variant = train_step.build_variant(spec)
                masks[role, method] = []
                for seed in (0, 1, 2):
                    torch.manual_seed(seed)
                    kept.clear()
                    variant.step()
                    masks[role, method].append(list(kept))
    finally:
        logger.setLevel(level)
    plain = masks['plain', 'tscam']
    assert all(len(step) == 24 for step in plain)  # two branches in each of 12 blocks
    dropped = sum(not k for step in plain for mask in step if mask for k in mask)
    assert dropped > 0, 'no sample dropped: the comparison below would be empty'
    for key, steps in masks.items():
        assert steps == plain, key
