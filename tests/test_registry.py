"""Every public class is registered under the wsol_mm scope, and the compat shims work."""
import pytest
import torch
from mmengine.registry import DefaultScope

from wsol_mm import registry
from wsol_mm.utils import register_all_modules

EXPECTED = {
    'MODELS': ['CAMLocalizer', 'CAMHead', 'ResNetCAM', 'CrossEntropyLoss',
               'WSOLDataPreprocessor'],
    'DATASETS': ['WSOLDataset', 'SyntheticWSOLDataset'],
    'TRANSFORMS': ['LoadImageFromFile', 'LoadWSOLAnnotations', 'Resize', 'RandomResizedCrop',
                   'RandomCrop', 'CenterCrop', 'RandomFlip', 'PackWSOLInputs'],
    'HOOKS': ['CAMVisualizationHook', 'ClassNumCheckHook', 'ProgressBarHook'],
    'METRICS': ['ClsAccuracyMetric', 'MaxBoxAccMetric', 'MaxBoxAccV2Metric', 'PxAPMetric',
                'FixedThresholdLocMetric', 'ThresholdSweepLocMetric'],
    'VISUALIZERS': ['WSOLVisualizer'],
}


def test_every_root_registry_has_a_child():
    import mmengine.registry as root
    for name in registry.__all__:
        child = getattr(registry, name)
        assert child.scope == 'wsol_mm'
        assert child.parent is getattr(root, name)


def test_register_all_modules_registers_expected_names():
    register_all_modules()
    assert DefaultScope.get_current_instance().scope_name == 'wsol_mm'
    for reg_name, names in EXPECTED.items():
        reg = getattr(registry, reg_name)
        for name in names:
            assert reg.get(name) is not None, f'{name} missing from {reg_name}'


def test_torchvision_shim_and_nms():
    import torchvision
    from torchvision.ops import nms

    from wsol_mm import compat
    boxes = torch.tensor([[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30.]])
    keep = nms(boxes, torch.tensor([0.9, 0.8, 0.7]), 0.5)
    assert keep.tolist() == [0, 2]
    assert compat._nms_reference(boxes, torch.tensor([0.9, 0.8, 0.7]), 0.5).tolist() == [0, 2]
    assert torchvision.models.resnet18(weights=None) is not None
    # idempotent: a second call keeps the installed state
    assert compat.install_torchvision_shim() in (True, False)


def test_checkpoint_loader_reads_mmengine_checkpoints(tmp_path):
    import numpy as np
    from mmengine.logging import HistoryBuffer
    from mmengine.runner.checkpoint import CheckpointLoader
    path = tmp_path / 'ckpt.pth'
    torch.save(dict(state_dict=dict(w=torch.ones(2)),
                    message_hub=dict(buf=HistoryBuffer(), x=np.float64(2))), path)
    ckpt = CheckpointLoader.load_checkpoint(str(path), map_location='cpu')
    assert isinstance(ckpt['message_hub']['buf'], HistoryBuffer)
    assert torch.equal(ckpt['state_dict']['w'], torch.ones(2))


def test_cpu_ddp_wrapper_config_has_no_deprecated_argument():
    """CPU DDP skips per-forward buffer broadcasts with the argument this torch offers
    (``broadcast_buffers`` warns once per rank on torch >= 2.13)."""
    import inspect

    import torch
    from mmengine.config import Config

    from wsol_mm import compat
    params = inspect.signature(torch.nn.parallel.DistributedDataParallel.__init__).parameters
    cfg = Config(dict(model=dict()))
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(torch.cuda, 'is_available', lambda: False)
        mp.setattr(torch.distributed, 'is_initialized', lambda: True)
        compat.setup_cpu_distributed(cfg, 'pytorch')
    wrapper = cfg.model_wrapper_cfg
    assert wrapper.device_ids is None
    flag = 'forward_sync_buffers' if 'forward_sync_buffers' in params else 'broadcast_buffers'
    assert wrapper[flag] is False
    assert not ({'forward_sync_buffers', 'broadcast_buffers'} - {flag}) & set(wrapper)
