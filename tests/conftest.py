"""Shared fixtures: tiny generated datasets (no real data or weights are available in tests)."""
import os
import os.path as osp

import pytest

os.environ.setdefault('HF_HUB_OFFLINE', '1')  # a timm download attempt fails at once
REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def _make(root: str, image_size: int, train: int, val: int, test: int) -> str:
    from wsol_mm.datasets.synthetic import generate_synthetic, preset_config
    cfg = preset_config('default', num_classes=4, image_size=image_size,
                        splits=dict(train=train, val=val, test=test), seed=1)
    generate_synthetic(root, cfg, progress=False)
    return root


@pytest.fixture(scope='session')
def tiny_synthetic(tmp_path_factory) -> str:
    """SyntheticWSOL at 64 px with 16/8/8 images (4 classes), boxes and masks."""
    return _make(str(tmp_path_factory.mktemp('synthetic') / 'data'), 64, 16, 8, 8)


@pytest.fixture(scope='session')
def tiny_synthetic_256(tmp_path_factory) -> str:
    """SyntheticWSOL at 256 px with 4/4/4 images, for configs with 224 crops."""
    return _make(str(tmp_path_factory.mktemp('synthetic256') / 'data'), 256, 4, 4, 4)


class _Payload:
    """Unpickling this object creates ``marker``: it stands for arbitrary code execution."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self):
        return open, (self.marker, 'w')


@pytest.fixture
def malicious_checkpoint(tmp_path):
    """A torch checkpoint whose unpickling would create a marker file: ``(path, marker)``."""
    import torch
    path, marker = str(tmp_path / 'evil.pth'), str(tmp_path / 'PWNED')
    torch.save({'state_dict': {}, 'meta': {'note': _Payload(marker)}}, path)
    return path, marker
