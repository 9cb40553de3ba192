"""The one compatibility module of wsol_mm: imported first, before torchvision/timm/mmengine.

Each workaround exists because a tested combination of the pinned packages fails on
its own (see ``docs/environment.md``); each is a no-op where the problem is absent.

(a) torchvision wheels whose compiled ops cannot load with the installed torch
    (CPU torch 2.13 + the ``+cu130`` torchvision 0.28 wheel): ``import torchvision``
    raises ``operator torchvision::nms does not exist``. We register a pure-torch
    ``nms`` so torchvision (and timm, and mmengine's ``collect_env``) import.
(b) mmengine 0.10.x calls ``torch.load`` without ``weights_only``: torch >= 2.6 refuses
    mmengine's own checkpoints (``HistoryBuffer``), and with ``weights_only=False`` a
    checkpoint could run code. Every scheme of mmengine's ``CheckpointLoader`` (local,
    http(s) and the zoo schemes built on it, s3/petrel, pavi, open-mmlab) is routed to
    :func:`wsol_mm.fileio.load_checkpoint_file`: ``weights_only=True`` with an allow-list
    of the types mmengine checkpoints carry. No environment switch is set.
(c) CPU distributed training: mmengine's ``init_dist`` calls ``torch.cuda.set_device``
    and DDP defaults to ``device_ids=[rank]``; both fail without CUDA. See
    :func:`setup_cpu_distributed`.
(d) mmengine 0.10.x ``CheckpointHook`` (also ``LoggerHook(out_dir)`` and
    ``save_checkpoint``) builds a deprecated ``FileClient`` even when it uses
    ``backend_args``, which logs two deprecation warnings on every run; it only uses that
    client for the deprecated ``file_client_args``, so it is now built only then.
"""
import importlib.util
import inspect
import os.path as osp
from typing import Optional

import torch

_TV_LIB: Optional['torch.library.Library'] = None


def _nms_reference(dets: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Greedy NMS in plain torch (the semantics of ``torchvision.ops.nms``)."""
    if dets.numel() == 0:
        return torch.empty((0, ), dtype=torch.int64, device=dets.device)
    x1, y1, x2, y2 = dets.unbind(1)
    areas = (x2 - x1) * (y2 - y1)
    keep = []
    suppressed = torch.zeros(dets.shape[0], dtype=torch.bool, device=dets.device)
    for i in scores.argsort(descending=True).tolist():
        if suppressed[i]:
            continue
        keep.append(i)
        inter_w = (torch.minimum(x2[i], x2) - torch.maximum(x1[i], x1)).clamp(min=0)
        inter_h = (torch.minimum(y2[i], y2) - torch.maximum(y1[i], y1)).clamp(min=0)
        inter = inter_w * inter_h
        suppressed |= inter / (areas[i] + areas - inter) > iou_threshold
    return torch.tensor(keep, dtype=torch.int64, device=dets.device)


def _torchvision_ops_loadable() -> bool:
    try:
        torch.ops.torchvision.nms  # noqa: B018 - registered already
        return True
    except (AttributeError, RuntimeError):
        pass
    spec = importlib.util.find_spec('torchvision')
    if spec is None or not spec.submodule_search_locations:
        return True  # no torchvision at all: nothing to fix
    so_path = osp.join(list(spec.submodule_search_locations)[0], '_C.so')
    if not osp.exists(so_path):
        return False
    try:
        torch.ops.load_library(so_path)
        return True
    except OSError:  # e.g. libc10_cuda.so missing with a CPU torch
        return False


def install_torchvision_shim() -> bool:
    """Make ``import torchvision`` work when its compiled ops do not load.

    Returns:
        bool: True if the shim was installed, False if torchvision's own ops work.
    """
    global _TV_LIB
    if _TV_LIB is not None:
        return True
    if _torchvision_ops_loadable():
        return False
    _TV_LIB = torch.library.Library('torchvision', 'DEF')
    _TV_LIB.define('nms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor')
    # torchvision registers fake kernels for both at import time.
    _TV_LIB.define('qnms(Tensor dets, Tensor scores, float iou_threshold) -> Tensor')
    _TV_LIB.impl('nms', _nms_reference, 'CPU')
    import torchvision.extension as tv_ext
    tv_ext._has_ops = lambda: True  # route torchvision.ops.nms to the kernel above
    return True


def install_checkpoint_loader() -> None:
    """Route every mmengine checkpoint scheme to wsol_mm's safe loader (see (b))."""
    from mmengine.runner import checkpoint as mm_checkpoint

    from wsol_mm.fileio import remote_checkpoints as remote
    loader = mm_checkpoint.CheckpointLoader
    loader.register_scheme('', remote.load_from_local, force=True)
    loader.register_scheme(('http://', 'https://'), remote.load_from_http, force=True)
    loader.register_scheme([r'(\S+\:)?s3://', r'(\S+\:)?petrel://'], remote.load_from_ceph,
                           force=True)
    loader.register_scheme('pavi://', remote.load_from_pavi, force=True)
    loader.register_scheme(('open-mmlab://', 'openmmlab://'), remote.load_from_openmmlab,
                           force=True)
    # torchvision://, modelzoo:// and mmcls:// resolve a URL, then call this.
    mm_checkpoint.load_from_http = remote.load_from_http


class _FileClientOnlyWhenAsked:
    """``FileClient.infer_client`` that builds the deprecated client only for its own args."""

    @staticmethod
    def infer_client(file_client_args: Optional[dict] = None, uri=None):
        """The deprecated ``FileClient`` if ``file_client_args`` are given, else None."""
        if file_client_args is None:
            return None  # unused by mmengine in that case (it uses get_file_backend)
        from mmengine.fileio import FileClient
        return FileClient.infer_client(file_client_args, uri)


def silence_file_client_deprecation() -> None:
    """Stop mmengine 0.10 from building an unused deprecated ``FileClient`` (see (d))."""
    from mmengine.hooks import checkpoint_hook, logger_hook
    from mmengine.runner import checkpoint as mm_checkpoint
    for module in (checkpoint_hook, logger_hook, mm_checkpoint):
        module.FileClient = _FileClientOnlyWhenAsked


def _no_forward_buffer_sync() -> dict:
    """DDP's "do not broadcast buffers in every forward" argument: ``forward_sync_buffers``
    where torch has it (``broadcast_buffers`` is deprecated there and warns once per rank),
    else ``broadcast_buffers`` (BN statistics are synced by SyncBuffersHook instead)."""
    params = inspect.signature(torch.nn.parallel.DistributedDataParallel.__init__).parameters
    if 'forward_sync_buffers' in params:
        return dict(forward_sync_buffers=False)
    return dict(broadcast_buffers=False)


def setup_cpu_distributed(cfg, launcher: str) -> None:
    """Prepare a config for distributed training on machines without CUDA.

    mmengine 0.10.7 ``init_dist('pytorch')`` calls ``torch.cuda.set_device`` and
    defaults to NCCL; DDP with ``device_ids=[rank]`` rejects CPU modules. Without
    CUDA we therefore open the gloo process group ourselves (the Runner then skips
    ``init_dist``) and wrap the model with ``device_ids=None``.

    Args:
        cfg (mmengine.Config): the full config; ``model_wrapper_cfg`` is filled in.
        launcher (str): the launcher name from the command line.
    """
    import torch.distributed as dist
    if launcher == 'none' or torch.cuda.is_available():
        return
    if launcher != 'pytorch':
        raise ValueError(f'launcher {launcher!r} needs GPUs; on CPU use --launcher pytorch '
                         '(tools/dist_train.sh) or none')
    if not dist.is_initialized():
        dist.init_process_group(backend='gloo')
    wrapper = dict(cfg.get('model_wrapper_cfg') or dict(type='MMDistributedDataParallel'))
    wrapper.update(device_ids=None, **_no_forward_buffer_sync())
    wrapper.setdefault('find_unused_parameters', False)
    cfg.model_wrapper_cfg = wrapper
    cfg.setdefault('env_cfg', dict())
    cfg.env_cfg['dist_cfg'] = dict(backend='gloo')


install_torchvision_shim()
install_checkpoint_loader()
silence_file_client_deprecation()
