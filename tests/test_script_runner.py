"""tests/script_runner.py: a forked run is the run ``python script args`` would be."""
import os
import os.path as osp
import sys

import pytest
from script_runner import base_env, run_script

SCRIPT = '''import json, os, sys
print(json.dumps(dict(argv=sys.argv, cwd=os.getcwd(), path0=sys.path[0],
                      var=os.environ.get('PROBE_VAR'), name=__name__,
                      preloaded='wsol_mm.models' in sys.modules)))
sys.stderr.write('to stderr\\n')
if os.environ.get('PROBE_IMPORT'):  # a module from a folder added to PYTHONPATH
    print('VALUE', __import__(os.environ['PROBE_IMPORT']).VALUE)
mode = sys.argv[1]
if mode == 'message':
    sys.exit('probe.py: error: the message')
if mode == 'raise':
    raise ValueError('uncaught')
if mode == 'status':
    sys.exit(3)
'''


@pytest.fixture
def probe(tmp_path):
    path = tmp_path / 'scripts' / 'probe.py'
    path.parent.mkdir()
    path.write_text(SCRIPT)
    return str(path)


def _both(probe: str, mode: str, cwd: str):
    """The same command forked and in a real subprocess."""
    cmd = [sys.executable, probe, mode]
    env = base_env(PROBE_VAR='x')
    forked = run_script(cmd, env=env, cwd=cwd)
    os.environ['WSOL_MM_TEST_SUBPROCESS'] = '1'
    try:
        real = run_script(cmd, env=env, cwd=cwd)
    finally:
        del os.environ['WSOL_MM_TEST_SUBPROCESS']
    return forked, real


@pytest.mark.parametrize('mode,status', [('ok', 0), ('message', 1), ('status', 3),
                                         ('raise', 1)])
def test_a_forked_run_matches_the_subprocess(probe, tmp_path, mode, status):
    forked, real = _both(probe, mode, str(tmp_path))
    assert forked.returncode == real.returncode == status
    import json
    seen = [json.loads(p.stdout.splitlines()[0]) for p in (forked, real)]
    assert seen[0].pop('preloaded') and not seen[1].pop('preloaded')  # the fork saves imports
    assert seen[0] == seen[1] == dict(argv=[probe, mode], cwd=str(tmp_path),
                                      path0=osp.dirname(probe), var='x', name='__main__')
    if mode == 'raise':
        for out in (forked, real):
            assert out.stderr.startswith('to stderr\nTraceback')
            assert out.stderr.endswith('ValueError: uncaught\n')
    else:
        assert forked.stderr == real.stderr
        assert forked.stderr.endswith('probe.py: error: the message\n') == (mode == 'message')


def test_an_import_time_variable_gets_its_own_interpreter(probe, tmp_path):
    """``OMP_NUM_THREADS`` is read when torch loads: a different value cannot be forked."""
    out = run_script([sys.executable, probe, 'ok'], env=base_env(OMP_NUM_THREADS='2'),
                     cwd=str(tmp_path))
    assert out.returncode == 0 and '"preloaded": false' in out.stdout


def _with_folder(tmp_path, files: dict) -> dict:
    """base_env with a folder of ``files`` first on PYTHONPATH (as tools_test_utils does)."""
    folder = tmp_path / 'hooks'
    folder.mkdir()
    for name, text in files.items():
        (folder / name).write_text(text)
    env = base_env()
    return dict(env, PYTHONPATH=os.pathsep.join([str(folder), env['PYTHONPATH']]))


def test_a_hook_module_folder_on_the_path_is_forked(probe, tmp_path):
    """A folder of test hook modules (``custom_imports``) on PYTHONPATH: still forked, and
    its module imports from there as in a new interpreter."""
    env = dict(_with_folder(tmp_path, {'wsol_probe_hook.py': 'VALUE = 7\n'}),
               PROBE_IMPORT='wsol_probe_hook')
    out = run_script([sys.executable, probe, 'ok'], env=env, cwd=str(tmp_path))
    assert out.returncode == 0, out.stderr
    assert '"preloaded": true' in out.stdout and 'VALUE 7' in out.stdout


@pytest.mark.parametrize('name', ['sitecustomize.py', 'mmengine.py'])
def test_a_start_up_hook_or_a_shadowing_module_gets_its_own_interpreter(probe, tmp_path, name):
    """``sitecustomize`` runs when an interpreter starts, and a folder's ``mmengine`` would
    shadow the installed one there: neither can be had by forking the server."""
    env = dict(_with_folder(tmp_path, {name: 'VALUE = 7\n', 'wsol_probe_hook.py': 'VALUE = 8\n'}),
               PROBE_IMPORT='wsol_probe_hook')
    out = run_script([sys.executable, probe, 'ok'], env=env, cwd=str(tmp_path))
    assert out.returncode == 0 and '"preloaded": false' in out.stdout, out.stderr
    assert 'VALUE 8' in out.stdout
