"""Run ``python <script> <args>`` for a test without paying the interpreter's imports again.

A tool process spends about 5 s importing torch, torchvision (which pulls in
``torch._dynamo``), mmengine, timm, numba and wsol_mm before it reads its arguments, and
the suite starts dozens of them. :func:`run_script` forks each run from one server process
per test worker that imported those modules once (``multiprocessing``'s forkserver), then
runs the script as ``__main__`` with the arguments, environment, working directory and
``sys.path`` the command would have; the result is a ``subprocess.CompletedProcess``
like ``subprocess.run(..., capture_output=True, text=True)``'s.

What a fork cannot reproduce goes to a real subprocess: an environment whose
import-time variables (threads, allocator, offline switches) differ from the server's,
a ``PYTHONPATH`` folder that holds a start-up hook (``sitecustomize``) or a module the
test process or the server has imported (the folder's copy would shadow it), ``python
-c`` and shell commands. Other folders added to ``PYTHONPATH`` (a test's hook module named by
``custom_imports``) go on the forked run's ``sys.path`` where the interpreter would put
them.
``WSOL_MM_TEST_SUBPROCESS=1`` sends every run to a real subprocess (to check that a
failure is not the fork's); tests that time or count a process's own imports, signals
or ranks keep calling ``subprocess`` themselves.
"""
import atexit
import importlib.util
import json
import multiprocessing as mp
import os
import os.path as osp
import runpy
import subprocess
import sys
import tempfile
import threading
import traceback
from multiprocessing import forkserver
from types import ModuleType
from typing import Dict, List, Optional, Sequence

REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))

#: The modules the server imports once (``wsol_mm.compat`` first, as every tool does). Only
#: imports: a server that ran the parallel evaluation kernels (numba's OpenMP threads) or a
#: multi-threaded torch op would fork children that hang on the threads' locks.
PRELOAD = ('wsol_mm.compat', 'torch', 'torchvision', 'timm', 'mmengine.runner', 'numba',
           'matplotlib', 'wsol_mm.apis', 'wsol_mm.datasets', 'wsol_mm.engine',
           'wsol_mm.evaluation', 'wsol_mm.models', 'wsol_mm.structures',
           'wsol_mm.visualization')

#: Environment variables read while those modules import: a run that sets any of them
#: differently from the server needs its own interpreter. (``MPLBACKEND`` is not one: with
#: no display matplotlib picks Agg either way.)
_IMPORT_TIME = ('OMP_', 'MKL_', 'KMP_', 'GOMP_', 'MALLOC_', 'LD_', 'PYTHON', 'HF_', 'TORCH',
                'NUMBA_', 'CUDA_', 'TIMM_')

_SERVER_ENV: Dict[str, str] = {}
_SERVER_MODULES: set = set()  # top-level names of the modules a forked child starts with
_SYS_PATHS: Dict[tuple, List[str]] = {}
_LOCK = threading.Lock()


def base_env(**env: str) -> Dict[str, str]:
    """The tools' environment in tests: repository on ``PYTHONPATH``, offline, one thread."""
    path = os.pathsep.join(p for p in (REPO_ROOT, os.environ.get('PYTHONPATH', '')) if p)
    return {**os.environ, 'PYTHONPATH': path, 'HF_HUB_OFFLINE': '1', 'OMP_NUM_THREADS': '1',
            'MPLBACKEND': 'Agg', **env}


def _import_time_vars(env: Dict[str, str]) -> Dict[str, str]:
    return {k: v for k, v in env.items() if k.startswith(_IMPORT_TIME)}


def _forkable(cmd: Sequence[str], env: Dict[str, str]) -> bool:
    if os.environ.get('WSOL_MM_TEST_SUBPROCESS') == '1' or sys.platform != 'linux':
        return False
    if len(cmd) < 2 or cmd[0] != sys.executable or not cmd[1].endswith('.py'):
        return False  # `python -c`, `python -m`, interpreter options, shell scripts
    with _LOCK:
        if not _SERVER_ENV:
            _start_server(base_env())
    mine, server = _import_time_vars(env), _import_time_vars(_SERVER_ENV)
    extra = _added_folders(mine.pop('PYTHONPATH', ''), server.pop('PYTHONPATH', ''))
    return mine == server and extra is not None and all(map(_forkable_folder, extra))


def _added_folders(path: str, server_path: str) -> Optional[List[str]]:
    """The ``PYTHONPATH`` entries beyond the server's, or None when one of its is missing."""
    entries = [p for p in path.split(os.pathsep) if p]
    base = [p for p in server_path.split(os.pathsep) if p]
    if any(p not in entries for p in base):
        return None
    return [p for p in entries if p not in base]


def _forkable_folder(folder: str) -> bool:
    """Whether a forked run can take ``folder`` on ``sys.path`` for the interpreter's
    ``PYTHONPATH`` entry: no start-up hook in it (the server started without it) and no
    module of a name this process or the server has imported (a new interpreter would
    import that folder's copy; the server has its own)."""
    if not osp.isdir(folder):
        return True
    names = {osp.splitext(name)[0] for name in os.listdir(folder)}
    imported = {name.partition('.')[0] for name in list(sys.modules)} | _SERVER_MODULES
    return not names & ({'sitecustomize', 'usercustomize'} | imported)


def _write_module_names(path: str) -> None:
    """A forked child's top-level module names, to ``path`` (one JSON list)."""
    with open(path, 'w') as f:
        json.dump(sorted({name.partition('.')[0] for name in sys.modules}), f)


def _start_server(env: Dict[str, str]) -> None:
    """Start this process's forkserver with ``env`` (it imports :data:`PRELOAD` with it)."""
    saved = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        forkserver.set_forkserver_preload(list(PRELOAD))
        forkserver.ensure_running()
    finally:
        os.environ.clear()
        os.environ.update(saved)
    _SERVER_ENV.update(env)
    with tempfile.TemporaryDirectory(prefix='run_script_') as tmp:
        names = osp.join(tmp, 'modules.json')
        child = mp.get_context('forkserver').Process(target=_write_module_names, args=(names, ))
        child.start()
        child.join()
        with open(names) as f:
            _SERVER_MODULES.update(json.load(f))


def _sys_path(env: Dict[str, str], cwd: str) -> List[str]:
    """``sys.path`` of ``python -c`` with ``env`` in ``cwd``, minus its leading ''."""
    key = (env.get('PYTHONPATH', ''), cwd)
    if key not in _SYS_PATHS:
        code = 'import json, sys; print(json.dumps(sys.path))'
        out = subprocess.run([sys.executable, '-c', code], cwd=cwd, env=env,
                             capture_output=True, text=True, check=True)
        _SYS_PATHS[key] = json.loads(out.stdout)[1:]
    return _SYS_PATHS[key]


def _exit_code(exc: SystemExit) -> int:
    """The status the interpreter gives ``sys.exit(code)``: a message goes to stderr as 1."""
    if exc.code is None or isinstance(exc.code, int):
        return exc.code or 0
    print(exc.code, file=sys.stderr)
    return 1


def _run_in_child(script: str, args: List[str], env: Dict[str, str], cwd: str,
                  path: List[str], out: str, err: str) -> None:
    """The forked child: become ``python script args`` and exit as its interpreter would."""
    for fd, name in ((1, out), (2, err)):
        target = os.open(name, os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        os.dup2(target, fd)
        os.close(target)
    os.chdir(cwd)
    os.environ.clear()
    os.environ.update(env)
    script_path = osp.abspath(script)
    sys.argv = [script] + args
    # last, this module's folder: the processes the script starts with multiprocessing
    # unpickle state that names this module (benchmarks/released_step.py's variants)
    sys.path[:] = [osp.dirname(script_path)] + path + [osp.dirname(osp.abspath(__file__))]
    try:
        runpy.run_path(script_path, run_name='__main__')
        code = 0
    except SystemExit as exc:
        code = _exit_code(exc)
    except BaseException:  # the interpreter prints any uncaught exception and exits 1
        traceback.print_exc()
        code = 1
    threading._shutdown()  # noqa: SLF001 - what the interpreter does at exit, in order
    atexit._run_exitfuncs()  # noqa: SLF001
    for stream in (sys.stdout, sys.stderr):
        stream.flush()
    os._exit(code)


def run_script(cmd: Sequence[str], env: Optional[Dict[str, str]] = None, cwd: str = REPO_ROOT,
               timeout: float = 600) -> subprocess.CompletedProcess:
    """``subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
    timeout=timeout)``, forked from the preloaded server where that is the same run.

    ``env`` defaults to :func:`base_env` (the tools' test environment)."""
    cmd = [str(c) for c in cmd]
    env = base_env() if env is None else dict(env)
    if not _forkable(cmd, env):
        return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True,
                              timeout=timeout)
    with tempfile.TemporaryDirectory(prefix='run_script_') as tmp:
        out, err = osp.join(tmp, 'stdout'), osp.join(tmp, 'stderr')
        proc = mp.get_context('forkserver').Process(
            target=_run_in_child, args=(cmd[1], cmd[2:], env, cwd, _sys_path(env, cwd), out,
                                        err))
        proc.start()
        proc.join(timeout)
        if proc.exitcode is None:
            proc.kill()
            proc.join()
            raise subprocess.TimeoutExpired(cmd, timeout)
        texts = []
        for name in (out, err):
            with open(name, encoding='utf-8', errors='replace') as f:
                texts.append(f.read())
    return subprocess.CompletedProcess(cmd, proc.exitcode, texts[0], texts[1])


#: a decimal number as the benchmarks print it
NUM = r'[0-9]+\.[0-9]+'


def run_benchmark(script: str, *args: str) -> subprocess.CompletedProcess:
    """``python benchmarks/<script> <args>`` from the repository's root (:func:`run_script`),
    asserted to exit 0 (its stderr's end shown otherwise)."""
    out = run_script([sys.executable, osp.join('benchmarks', script), *args], cwd=REPO_ROOT)
    assert out.returncode == 0, out.stderr[-3000:]
    return out


def load_script(path: str, name: Optional[str] = None) -> ModuleType:
    """A tool script imported as a module (not run), for tests that call its functions or
    its ``main(argv)`` in this process: a subprocess per case would mostly time imports."""
    name = name or osp.splitext(osp.basename(path))[0]
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
