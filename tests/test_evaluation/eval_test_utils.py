"""Seeded random score maps and boxes shared by the evaluation tests."""
import cv2
import numpy as np

KINDS = ('smooth', 'noise', 'ring', 'tiny', 'border', 'multi', 'const', 'binary')


def random_map(rng: np.random.Generator, kind: str) -> np.ndarray:
    """A map in [0, 1] of a given kind (shapes from 1x1 to 48x48)."""
    h, w = (int(v) for v in rng.integers(1, 7, size=2)) if kind == 'tiny' else \
        (int(v) for v in rng.integers(8, 48, size=2))
    if kind in ('noise', 'tiny'):
        m = rng.random((h, w))
        if rng.random() < 0.5:
            m = np.round(m * 4) / 4  # plateaus: many equal values
    elif kind == 'ring':
        yy, xx = np.mgrid[:h, :w]
        r = np.hypot(yy - h * rng.random(), xx - w * rng.random())
        m = np.exp(-(r - rng.uniform(2, 10)) ** 2 / rng.uniform(1, 8)) + 0.2 * rng.random((h, w))
    elif kind == 'binary':
        m = (rng.random((h, w)) < rng.uniform(0.2, 0.8)).astype(float)
    elif kind == 'const':
        m = np.full((h, w), rng.choice([0.0, 0.5, 1.0]))
    else:
        m = cv2.resize(rng.normal(size=(int(rng.integers(2, 6)), int(rng.integers(2, 6)))), (w, h),
                       interpolation=cv2.INTER_CUBIC)
        if kind == 'multi':
            m = np.maximum(m, cv2.resize(rng.normal(size=(3, 3)), (w, h),
                                         interpolation=cv2.INTER_CUBIC))
        m = m + rng.uniform(0, 0.5) * rng.random((h, w))
        if kind == 'border':
            m[:, 0] = m.max()
            m[-1, :] = m.max()
    m = m - m.min()
    if m.max() > 0:
        m = m / m.max()
    if rng.random() < 0.1:
        m = m * rng.uniform(0.3, 1)  # not normalised: max(u) < 255
    return m


def random_boxes(rng: np.random.Generator, h: int, w: int) -> np.ndarray:
    """1-3 inclusive xyxy boxes inside an h x w frame (degenerate ones included)."""
    n = int(rng.integers(1, 4))
    x = np.sort(rng.integers(0, w, size=(n, 2)), 1)
    y = np.sort(rng.integers(0, h, size=(n, 2)), 1)
    return np.stack([x[:, 0], y[:, 0], x[:, 1], y[:, 1]], 1).astype(float)
