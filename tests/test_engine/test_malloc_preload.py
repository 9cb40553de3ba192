"""tools/train.py --malloc: finding tcmalloc and re-executing the process with it preloaded."""
import os
import subprocess
import sys

import pytest

from wsol_mm import malloc_preload as mp

TCMALLOC = mp.find_tcmalloc()


class Execed(Exception):
    """Raised by the fake ``os.execve``: what the process would have become."""


@pytest.fixture
def fake_exec(monkeypatch):
    calls = []

    def execve(path, argv, env):
        calls.append((path, argv, env))
        raise Execed

    monkeypatch.setattr(mp.os, 'execve', execve)
    monkeypatch.delenv(mp.REEXEC_MARK, raising=False)
    return calls


def test_find_tcmalloc_looks_in_the_active_environment_first(tmp_path, monkeypatch):
    lib = tmp_path / 'venv' / 'lib'
    lib.mkdir(parents=True)
    (lib / 'libtcmalloc.so.4').write_bytes(b'')
    env = dict(VIRTUAL_ENV=str(tmp_path / 'venv'))
    assert mp.library_dirs(env)[0] == str(lib)
    assert mp.find_tcmalloc(env) == str(lib / 'libtcmalloc.so.4')
    # the minimal build (no profilers) wins over the full one in the same folder
    (lib / 'libtcmalloc_minimal.so.4').write_bytes(b'')
    assert mp.find_tcmalloc(env) == str(lib / 'libtcmalloc_minimal.so.4')
    monkeypatch.setattr(mp, 'library_dirs', lambda environ: [str(tmp_path / 'empty')])
    assert mp.find_tcmalloc(env) is None


def test_loaded_allocator_reads_the_memory_map(tmp_path):
    maps = tmp_path / 'maps'
    maps.write_text('7f00-7f01 r-xp 0 08:01 1 /usr/lib/x86_64-linux-gnu/libc.so.6\n')
    assert mp.loaded_allocator(str(maps)) == ''
    maps.write_text('7f00-7f01 r-xp 0 08:01 2 /opt/lib/libtcmalloc_minimal.so.4.5.9\n')
    assert mp.loaded_allocator(str(maps)) == 'tcmalloc'
    assert mp.loaded_allocator(str(tmp_path / 'missing')) == ''


def test_preload_environ_puts_the_library_first_and_marks_the_process():
    env = mp.preload_environ('/l/libtcmalloc.so.4', dict(LD_PRELOAD='/x/other.so', A='1'))
    assert env['LD_PRELOAD'] == '/l/libtcmalloc.so.4' + os.pathsep + '/x/other.so'
    assert env[mp.REEXEC_MARK] == '/l/libtcmalloc.so.4' and env['A'] == '1'
    assert env['TCMALLOC_LARGE_ALLOC_REPORT_THRESHOLD'] == str(2**40)  # no stack lines
    mine = dict(TCMALLOC_LARGE_ALLOC_REPORT_THRESHOLD='5')  # the user's own setting wins
    assert mp.preload_environ('/l/t.so', mine)['TCMALLOC_LARGE_ALLOC_REPORT_THRESHOLD'] == '5'
    assert mp.preload_environ('/l/t.so', {})['LD_PRELOAD'] == '/l/t.so'


def test_reexec_runs_the_same_command_with_the_library(monkeypatch, fake_exec):
    monkeypatch.setattr(mp, 'loaded_allocator', lambda: '')
    monkeypatch.setattr(mp, 'find_tcmalloc', lambda: '/l/libtcmalloc_minimal.so.4')
    monkeypatch.setattr(sys, 'orig_argv', ['python', '-W', 'ignore', 'tools/train.py', 'c.py'],
                        raising=False)
    with pytest.raises(Execed):
        mp.reexec_with_tcmalloc(required=False)
    (path, argv, env), = fake_exec
    assert path == sys.executable
    assert argv == [sys.executable, '-W', 'ignore', 'tools/train.py', 'c.py']
    assert env['LD_PRELOAD'].split(os.pathsep)[0] == '/l/libtcmalloc_minimal.so.4'
    assert env[mp.REEXEC_MARK] == '/l/libtcmalloc_minimal.so.4'


def test_reexec_when_missing_fails_only_if_required(monkeypatch, fake_exec):
    monkeypatch.setattr(mp, 'loaded_allocator', lambda: '')
    monkeypatch.setattr(mp, 'find_tcmalloc', lambda: None)
    note = mp.reexec_with_tcmalloc(required=False)
    assert note.startswith('malloc: glibc (tcmalloc not installed: apt install')
    with pytest.raises(SystemExit, match=r'--malloc tcmalloc: no tcmalloc library found in .*'
                       r'libtcmalloc-minimal4.*or use --malloc glibc'):
        mp.reexec_with_tcmalloc(required=True)
    assert fake_exec == []


def test_reexec_never_loops_and_keeps_a_preloaded_allocator(monkeypatch, fake_exec):
    monkeypatch.setattr(mp, 'find_tcmalloc', lambda: '/l/libtcmalloc.so.4')
    monkeypatch.setattr(mp, 'loaded_allocator', lambda: 'jemalloc')
    assert mp.reexec_with_tcmalloc(required=True) == 'malloc: jemalloc (preloaded)'
    monkeypatch.setattr(mp, 'loaded_allocator', lambda: '')
    monkeypatch.setenv(mp.REEXEC_MARK, '/l/libtcmalloc.so.4')  # re-executed, did not load
    assert 'did not load' in mp.reexec_with_tcmalloc(required=True)
    assert fake_exec == []


def test_allocator_note(monkeypatch):
    monkeypatch.setattr(mp, 'loaded_allocator', lambda: 'tcmalloc')
    assert mp.allocator_note(on_cpu=False) == 'tcmalloc (preloaded)'
    monkeypatch.setattr(mp, 'loaded_allocator', lambda: '')
    assert mp.allocator_note(on_cpu=False) == ''
    monkeypatch.setattr(mp, 'find_tcmalloc', lambda: None)
    assert 'apt install libtcmalloc-minimal4' in mp.allocator_note(on_cpu=True)
    monkeypatch.setattr(mp, 'find_tcmalloc', lambda: '/l/libtcmalloc.so.4')
    assert '--malloc auto uses it' in mp.allocator_note(on_cpu=True)


@pytest.mark.skipif(TCMALLOC is None or not sys.platform.startswith('linux'),
                    reason='tcmalloc is not installed')
def test_real_reexec_loads_tcmalloc_once():
    """A fresh interpreter re-executes itself once and then runs on tcmalloc; a second call
    in the new process does nothing."""
    code = ('import os; from wsol_mm import malloc_preload as mp; '
            'print("start", os.getpid(), flush=True); '
            'note = mp.reexec_with_tcmalloc(required=True); '
            'print(mp.loaded_allocator(), os.getpid(), note); '
            'print(mp.reexec_with_tcmalloc(required=True))')
    env = {k: v for k, v in os.environ.items() if k not in ('LD_PRELOAD', mp.REEXEC_MARK)}
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True,
                         env=env, check=True).stdout.split('\n')
    assert out[0].split()[0] == out[1].split()[0] == 'start'  # printed before and after exec
    pid = out[0].split()[1]
    assert out[2] == f'tcmalloc {pid} malloc: tcmalloc (preloaded)'  # same process id
    assert out[3] == 'malloc: tcmalloc (preloaded)'


def test_gpu_visible_reads_device_nodes_and_the_visibility_variables(tmp_path):
    dev = tmp_path / 'dev'
    dev.mkdir()
    (dev / 'nvidiactl').write_text('')  # the driver's control node alone is no GPU
    assert not mp.gpu_visible({}, str(dev))
    (dev / 'nvidia0').write_text('')
    assert mp.gpu_visible({}, str(dev))
    assert mp.gpu_visible(dict(CUDA_VISIBLE_DEVICES='1'), str(dev))
    assert not mp.gpu_visible(dict(CUDA_VISIBLE_DEVICES=''), str(dev))
    assert not mp.gpu_visible(dict(CUDA_VISIBLE_DEVICES='-1'), str(dev))
    (dev / 'nvidia0').unlink()
    (dev / 'kfd').write_text('')  # AMD (ROCm)
    assert mp.gpu_visible({}, str(dev))
    assert not mp.gpu_visible(dict(HIP_VISIBLE_DEVICES='-1'), str(dev))
    assert not mp.gpu_visible({}, str(tmp_path / 'missing'))


def test_malloc_choice_parses_like_argparse():
    assert mp.malloc_choice(['c.py']) == 'auto'
    assert mp.malloc_choice(['c.py', '--malloc', 'glibc']) == 'glibc'
    assert mp.malloc_choice(['--malloc=tcmalloc', 'c.py']) == 'tcmalloc'
    assert mp.malloc_choice(['--malloc', 'glibc', '--malloc', 'tcmalloc']) == 'tcmalloc'
    assert mp.malloc_choice(['c.py', '--malloc']) == 'auto'  # argparse reports it
    assert mp.malloc_choice(['c.py', '--mal', 'glibc']) == 'glibc'  # argparse's abbreviation
    assert mp.malloc_choice(['--', '--malloc', 'glibc']) == 'auto'  # positional after --
    assert mp.malloc_choice(['--metrics-json', 'm.json']) == 'auto'


@pytest.mark.parametrize('argv,gpu,execs', [
    (['c.py'], False, True), (['c.py'], True, False),
    (['c.py', '--malloc', 'tcmalloc'], True, True), (['c.py', '--malloc', 'glibc'], False, False),
    (['c.py', '--malloc', 'jemalloc'], False, False)])
def test_preload_for_tool_follows_the_option(monkeypatch, fake_exec, argv, gpu, execs):
    monkeypatch.setattr(mp, 'loaded_allocator', lambda: '')
    monkeypatch.setattr(mp, 'find_tcmalloc', lambda: '/l/libtcmalloc.so.4')
    monkeypatch.setattr(mp, 'gpu_visible', lambda: gpu)
    if execs:
        with pytest.raises(Execed):
            mp.preload_for_tool(argv)
    else:
        mp.preload_for_tool(argv)
    assert len(fake_exec) == int(execs)


@pytest.mark.parametrize('tool', ['train', 'test'])
def test_tools_reexecute_before_importing_torch(tmp_path, tool):
    """The tools choose the allocator before torch loads, so the re-run repeats no import.
    A fake library in a fake environment is found; a fake execve reports what was loaded."""
    lib = tmp_path / 'venv' / 'lib'
    lib.mkdir(parents=True)
    (lib / 'libtcmalloc_minimal.so.4').write_bytes(b'')
    code = ('import os, runpy, sys\n'
            'def execve(path, argv, env):\n'
            '    print("execve", env["LD_PRELOAD"].split(os.pathsep)[0], "torch" in sys.modules)\n'
            '    sys.exit(0)\n'
            'os.execve = execve\n'
            f'sys.argv = ["tools/{tool}.py", "missing.py", "--malloc", "tcmalloc"]\n'
            'runpy.run_path(sys.argv[0], run_name="__main__")\n')
    env = {k: v for k, v in os.environ.items() if k not in ('LD_PRELOAD', mp.REEXEC_MARK)}
    env.update(VIRTUAL_ENV=str(tmp_path / 'venv'))
    root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    out = subprocess.run([sys.executable, '-c', code], capture_output=True, text=True, env=env,
                         cwd=root)
    assert out.returncode == 0, out.stderr[-2000:]
    assert out.stdout.split() == ['execve', str(lib / 'libtcmalloc_minimal.so.4'), 'False']
