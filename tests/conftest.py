"""Shared fixtures: tiny generated datasets (no real data or weights are available in tests)."""
import os
import os.path as osp
import sys

import pytest
from worker_threads import worker_threads

os.environ.setdefault('HF_HUB_OFFLINE', '1')  # a timm download attempt fails at once
REPO_ROOT = osp.dirname(osp.dirname(osp.abspath(__file__)))


def pytest_configure(config) -> None:
    """An xdist worker runs torch on its share of the cores (``worker_threads``); the
    environment variable passes the same count to the processes its tests start."""
    threads = worker_threads(os.environ, len(os.sched_getaffinity(0)))
    if threads is not None:
        os.environ['OMP_NUM_THREADS'] = str(threads)
        import torch
        torch.set_num_threads(threads)


@pytest.fixture(autouse=True)
def _torch_threads_kept():
    """A test that changes torch's thread count (a script's ``main()`` run in-process sets
    ``--threads``) hands the next test of its worker the count it found."""
    torch = sys.modules.get('torch')  # a test without torch does not load it
    threads = torch.get_num_threads() if torch is not None else None
    yield
    if threads is not None and torch.get_num_threads() != threads:
        torch.set_num_threads(threads)


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


@pytest.fixture
def cheap_weight_init(monkeypatch):
    """``Tensor.uniform_`` / ``normal_`` copy values drawn once instead of drawing new ones.

    Random initialisation is about a fifth of building and stepping every config's model
    once at 64 px (VGG16, DeiT-B: 86-138 M numbers, most drawn twice, on one core); a test
    that only checks that the parts fit together needs finite weights of the usual scale,
    not fresh ones."""
    import torch
    banks = {}

    def bank(kind: str, n: int) -> torch.Tensor:
        if kind not in banks or banks[kind].numel() < n:
            gen = torch.Generator().manual_seed(0)
            draw = torch.rand if kind == 'uniform' else torch.randn
            banks[kind] = draw(max(n, 1 << 20), generator=gen)
        return banks[kind][:n]

    def uniform_(self, a: float = 0.0, b: float = 1.0, *, generator=None):
        with torch.no_grad():
            return self.copy_(bank('uniform', self.numel()).view(self.shape)).mul_(b - a).add_(a)

    def normal_(self, mean: float = 0.0, std: float = 1.0, *, generator=None):
        with torch.no_grad():
            return self.copy_(bank('normal', self.numel()).view(self.shape)).mul_(std).add_(mean)

    monkeypatch.setattr(torch.Tensor, 'uniform_', uniform_)
    monkeypatch.setattr(torch.Tensor, 'normal_', normal_)


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
