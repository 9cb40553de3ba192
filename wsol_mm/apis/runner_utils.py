"""Runner construction and reporting shared by ``tools/train.py`` and ``tools/test.py``."""
import argparse
import ast
import contextlib
import gc
import glob
import os
import os.path as osp
import re
import signal
import sys
import threading
import traceback
from typing import Dict, Iterator, Optional

import torch.nn as nn
from mmengine.config import Config, DictAction
from mmengine.dist import is_main_process
from mmengine.logging import print_log
from mmengine.runner import Runner, load_checkpoint

from wsol_mm.compat import setup_cpu_distributed
from wsol_mm.datasets.metadata import MetadataError
from wsol_mm.utils import CheckpointError, UserError, register_all_modules

from .cfg_options import apply_overrides

# Exceptions whose message is the whole story: tools print it without a traceback.
# (MetadataError predates UserError; it names the file and line as well.)
USER_ERRORS = (UserError, MetadataError)


def add_config_args(parser: argparse.ArgumentParser, data_root: bool = True) -> None:
    """``--cfg-options`` (checked) and, for tools that read data, ``--data-root``: every tool
    that takes a config offers them with the same meaning."""
    parser.add_argument('--cfg-options', nargs='+', action=DictAction,
                        help='override config keys, e.g. train_cfg.max_epochs=2 (checked '
                        'against the arguments of the classes they configure)')
    if data_root:
        parser.add_argument('--data-root', help='dataset root of every dataloader (and the '
                            'paths derived from it), e.g. --data-root /datasets/CUB_200_2011')


def config_from_args(args: argparse.Namespace) -> Config:
    """``args.config`` loaded with one-line errors, then ``--data-root`` and the checked
    ``--cfg-options`` applied (what :func:`add_config_args` added)."""
    cfg = load_config(args.config)
    return apply_overrides(cfg, args.cfg_options, getattr(args, 'data_root', None))


def add_common_args(parser: argparse.ArgumentParser) -> None:
    """Options shared by ``tools/train.py`` and ``tools/test.py``."""
    parser.add_argument('--work-dir', help='the dir to save logs, models and metrics')
    add_config_args(parser)
    parser.add_argument('--launcher', choices=['none', 'pytorch', 'slurm', 'mpi'],
                        default='none', help='job launcher')
    parser.add_argument('--local_rank', '--local-rank', type=int, default=0)
    parser.add_argument('--malloc', choices=['auto', 'tcmalloc', 'glibc'], default='auto',
                        help='CPU memory allocator: re-run this command with tcmalloc '
                        'preloaded (faster CPU steps, less memory; docs/speed.md); auto = '
                        'when it is installed and no GPU device is visible, tcmalloc = '
                        'always (stops when it is missing), glibc = the C library\'s own '
                        '(read before the tool imports torch: wsol_mm/malloc_preload.py)')


def apply_common_args(cfg: Config, args: argparse.Namespace) -> Config:
    """Merge ``--data-root``, ``--cfg-options`` (checked), launcher and work dir into ``cfg``."""
    os.environ.setdefault('LOCAL_RANK', str(args.local_rank))
    apply_overrides(cfg, args.cfg_options, args.data_root)  # ConfigOptionError: a UserError
    cfg.launcher = args.launcher
    cfg.work_dir = args.work_dir or cfg.get('work_dir') or default_work_dir(args.config)
    return cfg


def default_work_dir(config: str) -> str:
    """``work_dirs/<method folder>/<config name>`` (config names repeat across method folders:
    ``cam/resnet50_cub.py``, ``has/resnet50_cub.py``); ``work_dirs/<name>`` outside ``configs/``."""
    name = osp.splitext(osp.basename(config))[0]
    parent = osp.basename(osp.dirname(osp.abspath(config)))
    grand = osp.basename(osp.dirname(osp.dirname(osp.abspath(config))))
    return osp.join('./work_dirs', parent, name) if grand == 'configs' else osp.join(
        './work_dirs', name)


# mmengine builds a loop only from all three keys of a group (else a ValueError traceback).
LOOP_KEYS = (('train_dataloader', 'train_cfg', 'optim_wrapper'),
             ('val_dataloader', 'val_cfg', 'val_evaluator'),
             ('test_dataloader', 'test_cfg', 'test_evaluator'))


def check_loop_keys(cfg: Config) -> None:
    """Raise a :class:`UserError` naming the keys when a loop's keys are only partly set.

    A config assembled from ``_base_`` pieces easily gets, e.g., a schedule file's
    ``train_cfg`` without a ``train_dataloader``; mmengine would stop with a traceback.
    """
    for group in LOOP_KEYS:
        unset = [k for k in group if cfg.get(k) is None]
        if unset and len(unset) < len(group):
            given = [k for k in group if k not in unset]
            raise UserError(f'config: {" and ".join(given)} set but {" and ".join(unset)} not '
                            f'(mmengine needs all or none of {", ".join(group)}): add '
                            f'{" and ".join(unset)} to the config, or set '
                            f'{" and ".join(given)} to None (a `_base_` schedule file brings '
                            'train_cfg, val_cfg and test_cfg)')


def build_runner(cfg: Config) -> Runner:
    """Register modules, prepare CPU DDP if needed, fix dataloader defaults, build.

    The runner is a :class:`~wsol_mm.engine.runner.WSOLRunner` (short console start-up
    summary) unless the config names a ``runner_type``.
    """
    check_loop_keys(cfg)
    register_all_modules(init_default_scope=False)
    setup_cpu_distributed(cfg, cfg.get('launcher', 'none'))
    for name in ('train_dataloader', 'val_dataloader', 'test_dataloader'):
        loader = cfg.get(name)
        if loader:
            # persistent_workers=True with num_workers=0 raises inside torch
            loader.persistent_workers = bool(loader.get('persistent_workers', False)
                                             and loader.get('num_workers', 0) > 0)
    if cfg.get('runner_type'):
        from wsol_mm.registry import RUNNERS
        return RUNNERS.build(cfg)
    from wsol_mm.engine.runner import WSOLRunner
    return WSOLRunner.from_cfg(cfg)


def load_checkpoint_strict(model: nn.Module, filename: str) -> None:
    """Load model weights, failing with the missing/unexpected keys on any mismatch.

    The file is read by wsol_mm's safe loader (``weights_only=True``, see
    :func:`wsol_mm.fileio.load_checkpoint_file`), so a corrupt, truncated or untrusted file
    fails with its own message before any key is compared.

    Args:
        model (nn.Module): the model (DDP wrappers are unwrapped by mmengine).
        filename (str): checkpoint path or URL.
    """
    try:
        load_checkpoint(model, filename, map_location='cpu', strict=True, logger='current')
    except RuntimeError as err:
        raise CheckpointError(f'checkpoint {filename} does not match the model of this config '
                              f'(wrong config, or convert it with tools/model_converters/):\n'
                              f'{err}') from None


def resolve_auto_resume(work_dir: str) -> Optional[str]:
    """The checkpoint that ``--resume`` without a path continues from, or None.

    ``last_checkpoint`` names it; when that file is missing, empty or names a file that is
    gone (a run killed while writing it), the newest ``epoch_N.pth`` / ``iter_N.pth`` of
    ``work_dir`` is used instead (checkpoints are written atomically, so any that exists is
    complete).
    """
    pointer = osp.join(work_dir, 'last_checkpoint')
    if osp.isfile(pointer):
        with open(pointer) as f:
            named = f.read().strip()
        if named and osp.isfile(named):
            return named
    found = []
    for path in glob.glob(osp.join(work_dir, '*_[0-9]*.pth')):
        match = re.fullmatch(r'(epoch|iter)_(\d+)\.pth', osp.basename(path))
        if match:
            found.append((int(match[2]), path))
    if not found:
        print_log(f'no checkpoint in {work_dir} to resume from: training from scratch',
                  logger='current')
        return None
    path = max(found)[1]
    print_log(f'{pointer} is missing or names no file: resuming from {path}', logger='current')
    return path


def config_mistake(err: BaseException) -> Optional[str]:
    """The message of an error that a config key caused while mmengine built an object, or None.

    A misspelt argument (``TypeError: X.__init__() got an unexpected keyword argument``) or
    type (``KeyError: 'X is not in the wsol_mm::model registry'``) raised while
    ``build_from_cfg`` runs is a user's mistake; the same exception types elsewhere are not.
    """
    text = str(err.args[0]) if err.args else ''
    if isinstance(err, TypeError):
        mistake = re.search(r'unexpected keyword argument|required (positional|keyword)', text)
    elif isinstance(err, KeyError):
        mistake = re.search(r'is not in the \S+ registry', text)
    else:
        return None
    built = any(frame.f_code.co_name == 'build_from_cfg'
                for frame, _ in traceback.walk_tb(err.__traceback__))
    if not (mistake and built):
        return None
    return (f'config: {text.split(". Please check")[0]}; check the spelling of that key or type '
            'in the config (or --cfg-options)')


def user_error_message(err: BaseException) -> str:
    """The user-facing text of ``err`` (the original message if a DataLoader worker raised it)."""
    text = str(err)
    if 'Original Traceback' in text:  # torch re-raises worker errors with their traceback
        marker = f'{type(err).__module__}.{type(err).__qualname__}: '
        text = text.rsplit(marker, 1)[1] if marker in text else text.strip().splitlines()[-1]
    return text.strip()


def _exit_on_signal(signum: int, frame) -> None:
    signal.signal(signum, signal.SIG_DFL)  # a second signal ends the process at once
    raise SystemExit(128 + signum)


@contextlib.contextmanager
def report_user_errors(tool: str) -> Iterator[None]:
    """Run a tool's work: user mistakes print one line, SIGTERM exits cleanly.

    A :data:`USER_ERRORS` exception, or a config key mistake (:func:`config_mistake`), is
    printed as ``<tool>: error: <message>`` (exit 1); other errors keep their traceback.
    SIGTERM becomes ``SystemExit(143)``, so cleanup runs as on a normal exit: dataloader
    workers are stopped with the main process and unfinished atomic writes remove their
    temporary files. A distributed process group is destroyed on the way out, its threads
    joined (see :func:`_close_process_group`).

    Args:
        tool (str): the script name printed before the message.
    """
    if threading.current_thread() is threading.main_thread():
        signal.signal(signal.SIGTERM, _exit_on_signal)
    try:
        yield
    except (*USER_ERRORS, TypeError, KeyError) as err:
        message = user_error_message(err) if isinstance(err, USER_ERRORS) \
            else config_mistake(err)
        if message is None:
            raise  # an internal error: keep the traceback
        rank = os.environ.get('RANK')
        where = f'{tool} (rank {rank})' if rank not in (None, '0') else tool
        sys.stderr.write(f'{where}: error: {message}\n')  # one write: ranks do not interleave
        sys.stderr.flush()
        sys.exit(1)
    finally:
        _close_process_group(sys.exc_info()[1])


def _close_process_group(failure: Optional[BaseException] = None) -> None:
    """Destroy the process group, and with it gloo's worker threads, before exit.

    ``destroy_process_group`` only unregisters the group: the group and its threads live on
    while anything holds it, and DDP's reducer does. mmengine's runner sits in reference
    cycles, so only the cyclic collector frees it, possibly during interpreter shutdown;
    a gloo thread that then drops its last finished work needs the GIL of a finalizing
    interpreter, and the rank aborts ("terminate called without an active exception").
    So the tool body's frames are released (a failed body's through ``failure``'s
    tracebacks) and collected first: the group's last reference goes with
    ``destroy_process_group``, whose destructor joins the threads. Tools keep the runner
    in a function called inside :func:`report_user_errors`, not in ``main``'s frame.

    Args:
        failure (BaseException, optional): the exception leaving the tool, if any.
    """
    import torch.distributed as dist
    if not (dist.is_available() and dist.is_initialized()):
        return
    _clear_traceback_frames(failure)
    gc.collect()
    dist.destroy_process_group()


def _clear_traceback_frames(err: Optional[BaseException]) -> None:
    """Drop the locals of the finished frames in ``err``'s tracebacks (and those of the
    exceptions it was raised from or during); printing the traceback needs none of them."""
    seen = set()
    while err is not None and id(err) not in seen:
        seen.add(id(err))
        traceback.clear_frames(err.__traceback__)  # frames still executing are skipped
        err = err.__cause__ or err.__context__


def _syntax_error_in(path: str) -> Optional[str]:
    """``'<file>, line N: <msg>'`` for the first file of ``path``'s ``_base_`` tree that fails."""
    try:
        with open(path, encoding='utf-8') as f:
            tree = ast.parse(f.read(), filename=path)
    except SyntaxError as err:
        return f'{path}, line {err.lineno}: {err.msg}'
    except OSError:
        return None
    for node in tree.body:
        if isinstance(node, ast.Assign) and any(getattr(t, 'id', None) == '_base_'
                                                for t in node.targets):
            with contextlib.suppress(ValueError):
                bases = ast.literal_eval(node.value)
                for base in [bases] if isinstance(bases, str) else bases:
                    found = _syntax_error_in(osp.join(osp.dirname(path), base))
                    if found:
                        return found
    return None


def load_config(path: str) -> Config:
    """``Config.fromfile`` with one-line errors for a missing or unparsable config file."""
    if not osp.isfile(path):
        raise UserError(f'config file {path} not found')
    try:
        return Config.fromfile(path)
    except SyntaxError as err:
        where = _syntax_error_in(path) or f'{path}: {err.msg}'
        raise UserError(f'config {where}') from None


def print_metrics(metrics: Dict[str, float], title: Optional[str] = None,
                  baselines: Optional[Dict[str, Dict[str, float]]] = None,
                  first_name: str = 'model') -> None:
    """Print metrics as a table (one column per model/baseline), once: on rank 0."""
    if not is_main_process():
        return
    columns = {first_name: metrics, **(baselines or {})}
    keys = [k for k in metrics if not isinstance(metrics[k], (list, dict))]
    width = max([len(k) for k in keys] + [6])
    if title:
        print(f'\n{title}')
    header = f'{"metric":<{width}} | ' + ' | '.join(f'{c:>14}' for c in columns)
    print(header)
    print('-' * len(header))
    for key in keys:
        cells = []
        for values in columns.values():
            v = values.get(key)
            cells.append(f'{v:>14.2f}' if isinstance(v, (int, float)) else f'{"-":>14}')
        print(f'{key:<{width}} | ' + ' | '.join(cells))
