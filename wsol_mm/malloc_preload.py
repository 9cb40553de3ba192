"""Find tcmalloc and run a process with it preloaded (``tools/train.py`` / ``test.py``
``--malloc``).

A CPU training step allocates its activations afresh every step. glibc's ``malloc``
unmaps the blocks above its mmap threshold (at most 32 MiB) when they are freed and
trims the top of its heap, so the next step faults and zeroes those pages again: on a
crop consistency ResNet50 step (batch 8) about 450,000 page faults, 1.8 GB. gperftools'
tcmalloc keeps freed memory in its page heap and hands it out again; it is the allocator
that PyTorch's own CPU launcher (``python -m torch.backends.xeon.run_cpu``) preloads by
default. An allocator can only be chosen when a process starts (``LD_PRELOAD``), so
``tools/train.py`` and ``tools/test.py`` re-execute themselves once with the library
preloaded (:func:`preload_for_tool`), before they import torch: this module imports
nothing heavy, so the re-run repeats no import.
``benchmarks/cpu_malloc.py`` measures speed and peak memory with each allocator.
"""
import os
import os.path as osp
import sys
import sysconfig
from typing import Dict, List, Mapping, Optional, Sequence

#: library file names tried, in order: gperftools' minimal build first (no profilers)
TCMALLOC_NAMES = ('libtcmalloc_minimal.so.4', 'libtcmalloc.so.4', 'libtcmalloc_minimal.so',
                  'libtcmalloc.so')
#: how to get it, for the message when it is missing
INSTALL_HINT = ('apt install libtcmalloc-minimal4 (Debian / Ubuntu), dnf install '
                'gperftools-libs (Fedora / RHEL) or conda install gperftools')
#: preloadable allocators recognised in a process (its memory map, ``LD_PRELOAD``)
ALLOCATORS = ('tcmalloc', 'jemalloc', 'mimalloc')
#: set in the re-executed process, so that it never re-executes again
REEXEC_MARK = 'WSOL_MM_MALLOC_PRELOADED'
#: gperftools prints a stack line for every allocation above 1 GiB (a batch of 64 CNN
#: activations is one): reported only above 1 TiB unless the environment sets it
QUIET = dict(TCMALLOC_LARGE_ALLOC_REPORT_THRESHOLD=str(2**40))


def library_dirs(environ: Mapping[str, str]) -> List[str]:
    """Folders searched for the library: the active environments first, then the system's."""
    dirs = [osp.join(environ[var], 'lib') for var in ('CONDA_PREFIX', 'VIRTUAL_ENV')
            if environ.get(var)]
    dirs += [osp.join(sys.prefix, 'lib'), osp.expanduser('~/.local/lib')]
    multiarch = sysconfig.get_config_var('MULTIARCH')  # e.g. x86_64-linux-gnu (Debian)
    for root in ('/usr/local/lib', '/usr/local/lib64', '/usr/lib', '/usr/lib64', '/lib',
                 '/lib64'):
        if multiarch:
            dirs.append(osp.join(root, multiarch))
        dirs.append(root)
    return list(dict.fromkeys(dirs))


def find_tcmalloc(environ: Optional[Mapping[str, str]] = None) -> Optional[str]:
    """The path of an installed tcmalloc, or None."""
    environ = os.environ if environ is None else environ
    for folder in library_dirs(environ):
        for name in TCMALLOC_NAMES:
            path = osp.join(folder, name)
            if osp.isfile(path):
                return path
    return None


def loaded_allocator(maps_path: str = '/proc/self/maps') -> str:
    """The preloaded allocator this process runs on ('tcmalloc', 'jemalloc', 'mimalloc'),
    read from its memory map; '' for the C library's own or where that cannot be read."""
    try:
        with open(maps_path) as f:
            maps = f.read()
    except OSError:
        return ''
    for name in ALLOCATORS:
        if f'lib{name}' in maps:
            return name
    return ''


def allocator_note(on_cpu: bool) -> str:
    """The allocator this process runs on, for the runner's start-up summary ('' on GPU
    runs with the C library's allocator)."""
    name = loaded_allocator()
    if name:
        return f'{name} (preloaded)'
    if not on_cpu:
        return ''
    if find_tcmalloc() is None:
        return f'glibc malloc (tcmalloc makes CPU steps faster: {INSTALL_HINT})'
    return 'glibc malloc (tcmalloc is installed: the tools\' --malloc auto uses it)'


def preload_environ(path: str, environ: Mapping[str, str]) -> Dict[str, str]:
    """A copy of ``environ`` with ``path`` first in ``LD_PRELOAD``, the re-exec mark and
    (unless set) :data:`QUIET`."""
    env = dict(QUIET, **environ)
    env['LD_PRELOAD'] = os.pathsep.join([path] + [p for p in [env.get('LD_PRELOAD')] if p])
    env[REEXEC_MARK] = path
    return env


def reexec_with_tcmalloc(required: bool) -> str:
    """Re-execute this Python process with tcmalloc preloaded, unless it already runs on it.

    Returns only when no re-execution happens, with one line that says why (for the
    start-up log): already preloaded, not found (``required=False``), or not Linux.

    The new process gets the same interpreter options and arguments (``sys.orig_argv``)
    and the same process id (``execve``), so launchers such as ``torchrun`` keep track
    of it.

    Args:
        required (bool): fail when the library is missing (``--malloc tcmalloc``) instead
            of going on with the C library's allocator (``--malloc auto``).

    Raises:
        SystemExit: ``required`` and tcmalloc is not installed (the message says how to
            install it).
    """
    current = loaded_allocator()
    if current:
        return f'malloc: {current} (preloaded)'
    if os.environ.get(REEXEC_MARK):  # re-executed, yet not loaded: do not loop
        return f'malloc: tcmalloc preload of {os.environ[REEXEC_MARK]} did not load; glibc'
    if not sys.platform.startswith('linux'):
        if required:
            raise SystemExit('--malloc tcmalloc: preloading an allocator is supported on '
                             'Linux only; drop the option')
        return ''
    path = find_tcmalloc()
    if path is None:
        if required:
            raise SystemExit('--malloc tcmalloc: no tcmalloc library found in '
                             f'{", ".join(library_dirs(os.environ)[:4])}, ...; install it '
                             f'({INSTALL_HINT}) or use --malloc glibc')
        return 'malloc: glibc (tcmalloc not installed: ' + INSTALL_HINT + ')'
    sys.stdout.flush()
    sys.stderr.flush()
    argv = getattr(sys, 'orig_argv', [sys.executable] + sys.argv)  # Python < 3.10: no flags
    os.execve(sys.executable, [sys.executable] + argv[1:], preload_environ(path, os.environ))
    return ''  # not reached


def gpu_visible(environ: Optional[Mapping[str, str]] = None, dev: str = '/dev') -> bool:
    """Whether this process can see a GPU, judged without importing torch (which would
    double a re-executed tool's start-up): an NVIDIA device node not hidden by
    ``CUDA_VISIBLE_DEVICES``, or AMD's ``kfd`` not hidden by ``HIP_VISIBLE_DEVICES`` /
    ``ROCR_VISIBLE_DEVICES``."""
    environ = os.environ if environ is None else environ

    def hidden(*names: str) -> bool:
        return any(environ.get(n) is not None and environ[n].strip() in ('', '-1')
                   for n in names)

    try:
        nodes = os.listdir(dev)
    except OSError:
        return False
    nvidia = any(n.startswith('nvidia') and n[6:].isdigit() for n in nodes)
    return ((nvidia and not hidden('CUDA_VISIBLE_DEVICES'))
            or ('kfd' in nodes and not hidden('HIP_VISIBLE_DEVICES', 'ROCR_VISIBLE_DEVICES')))


def malloc_choice(argv: Sequence[str]) -> str:
    """The value of ``--malloc`` in a tool's arguments, read as argparse reads it:
    ``--malloc X`` or ``--malloc=X``, an abbreviation such as ``--mal X``, the last one
    wins, nothing after ``--``; ``'auto'`` when absent."""
    choice = 'auto'
    for i, arg in enumerate(argv):
        if arg == '--':
            break
        name, eq, value = arg.partition('=')
        if len(name) >= 3 and '--malloc'.startswith(name):
            if eq:
                choice = value
            elif i + 1 < len(argv):
                choice = argv[i + 1]
    return choice


def preload_for_tool(argv: Sequence[str]) -> None:
    """``tools/train.py`` / ``test.py`` ``--malloc``, applied before anything heavy is
    imported: ``tcmalloc`` re-executes on it (stops when it is missing), ``auto`` when it
    is installed and no GPU is visible (:func:`gpu_visible`), ``glibc`` keeps the C
    library's. An unknown value does nothing here: the tool's argument parser reports it.
    Returns only when the process is not re-executed."""
    choice = malloc_choice(argv)
    if choice == 'tcmalloc' or (choice == 'auto' and not gpu_visible()):
        reexec_with_tcmalloc(required=choice == 'tcmalloc')
