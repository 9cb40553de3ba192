"""Drawing primitives of the SyntheticWSOL generator: backgrounds, shapes, textures.

Everything here is a pure function of its arguments (a ``numpy.random.Generator`` for the
random parts), so the generator is byte-for-byte deterministic. Shapes are implicit functions
in an object frame ``(u, v)`` where the shape spans roughly ``[-1, 1]^2``; rendering samples
them at pixel centres, so the instance mask is exactly the set of pixels painted with the object.
"""
import colorsys
import math
from functools import lru_cache
from typing import Callable

import cv2
import numpy as np

__all__ = ['SHAPE_NAMES', 'ClassAppearance', 'class_appearance', 'render_background',
           'render_object', 'add_pixel_noise']

_Arr = np.ndarray


def _regular_polygon(u: _Arr, v: _Arr, n: int, phase: float = math.pi / 2) -> _Arr:
    """Inside test of a regular convex ``n``-gon with circumradius 1 (half-plane tests)."""
    inside = np.ones(u.shape, dtype=bool)
    angles = [phase + 2 * math.pi * k / n for k in range(n + 1)]
    for a0, a1 in zip(angles[:-1], angles[1:]):
        x0, y0, x1, y1 = math.cos(a0), math.sin(a0), math.cos(a1), math.sin(a1)
        inside &= (x1 - x0) * (v - y0) - (y1 - y0) * (u - x0) >= 0
    return inside


def _star(u: _Arr, v: _Arr) -> _Arr:
    # Polar triangle wave between the inner and outer radius: a 5-pointed star.
    phi = np.arctan2(v, u) - math.pi / 2
    frac = np.abs(((phi * 5 / (2 * math.pi)) % 1.0) - 0.5) * 2  # 1 at tips, 0 between
    return np.hypot(u, v) <= 0.45 + 0.55 * frac


# Implicit shapes in the object frame; the generator rescales them to the sampled box size,
# so only the proportions matter here. Kept visually distinct even at ~8 px.
_SHAPES: dict[str, Callable[[_Arr, _Arr], _Arr]] = {
    'disc': lambda u, v: u * u + v * v <= 1.0,
    'square': lambda u, v: (np.abs(u) <= 1.0) & (np.abs(v) <= 1.0),
    'triangle': lambda u, v: _regular_polygon(u, v, 3),
    'cross': lambda u, v: (((np.abs(u) <= 0.32) & (np.abs(v) <= 1.0))
                           | ((np.abs(v) <= 0.32) & (np.abs(u) <= 1.0))),
    'ring': lambda u, v: (u * u + v * v <= 1.0) & (u * u + v * v >= 0.36),
    'ellipse': lambda u, v: u * u + (v / 0.5) ** 2 <= 1.0,
    'hexagon': lambda u, v: _regular_polygon(u, v, 6, phase=0.0),
    'star': _star,
    'diamond': lambda u, v: np.abs(u) / 0.6 + np.abs(v) <= 1.0,
    'crescent': lambda u, v: (u * u + v * v <= 1.0) & ((u - 0.45) ** 2 + v * v >= 0.56),
    'lshape': lambda u, v: (((np.abs(u) <= 1.0) & (v >= 0.4) & (v <= 1.0))
                            | ((u >= -1.0) & (u <= -0.4) & (np.abs(v) <= 1.0))),
    'semicircle': lambda u, v: (u * u + v * v <= 1.0) & (v >= 0.0),
}
SHAPE_NAMES: tuple[str, ...] = tuple(_SHAPES)

# Class colours (HSV hue) chosen far apart for the first classes; later ones use golden-ratio
# hue steps. Patterns are class-specific too, so colour is not the only cue.
_HUES = (0.0, 0.61, 0.33, 0.15, 0.83, 0.5, 0.07, 0.74)
_PATTERNS = ('stripes', 'checker', 'dots', 'rings', 'gradient', 'diagonal')


class ClassAppearance:
    """Fixed (seed independent) look of one class: shape, two colours and a texture pattern.

    Args:
        shape (str): key of the implicit shape.
        hue (float): HSV hue of the main colour, in [0, 1).
        pattern (str): texture pattern name.
        dark_second (bool): the second colour is a dark (True) or pale (False) shade.
        freq (float): pattern frequency, cycles per object half-width.
    """

    def __init__(self, shape: str, hue: float, pattern: str, dark_second: bool,
                 freq: float) -> None:
        self.shape = shape
        self.hue = hue
        self.pattern = pattern
        self.dark_second = dark_second
        self.freq = freq


def class_appearance(label: int) -> ClassAppearance:
    """Returns the appearance of class ``label`` (deterministic, independent of the seed)."""
    shape = SHAPE_NAMES[label % len(SHAPE_NAMES)]
    hue = _HUES[label] if label < len(_HUES) else (label * 0.618034) % 1.0
    # Offset the pattern cycle per shape cycle so repeated shapes get a different texture.
    pattern = _PATTERNS[(label + label // len(SHAPE_NAMES)) % len(_PATTERNS)]
    return ClassAppearance(shape, hue, pattern, dark_second=label % 2 == 0,
                           freq=1.5 + 0.5 * (label % 3))


def _hsv_to_bgr(h: float, s: float, v: float) -> np.ndarray:
    r, g, b = colorsys.hsv_to_rgb(h % 1.0, min(max(s, 0.0), 1.0), min(max(v, 0.0), 1.0))
    return np.array([b, g, r], dtype=np.float32) * 255.0


def _pattern(name: str, u: _Arr, v: _Arr, freq: float, phase: float) -> _Arr:
    """Texture weight in [0, 1] (0 = main colour, 1 = second colour) in the object frame."""
    if name == 'stripes':
        return (np.sin(2 * math.pi * freq * u + phase) > 0).astype(np.float32)
    if name == 'diagonal':
        return (np.sin(2 * math.pi * freq * (u + v) * 0.7071 + phase) > 0).astype(np.float32)
    if name == 'checker':
        cells = np.floor(freq * u + phase) + np.floor(freq * v + phase)
        return (cells % 2).astype(np.float32)
    if name == 'dots':
        fu = (freq * u + phase) % 1.0 - 0.5
        fv = (freq * v + phase) % 1.0 - 0.5
        return (fu * fu + fv * fv < 0.09).astype(np.float32)
    if name == 'rings':
        return (np.sin(2 * math.pi * freq * np.hypot(u, v) + phase) > 0).astype(np.float32)
    # 'gradient': smooth two-colour ramp across the object
    return np.clip(0.5 + 0.5 * (u * math.cos(phase) + v * math.sin(phase)), 0, 1).astype(
        np.float32)


@lru_cache(maxsize=None)
def _unit_hull(shape: str) -> np.ndarray:
    """Convex hull (K, 2) of the shape in the object frame, for exact rotated-box sizing."""
    grid = np.linspace(-1.05, 1.05, 211, dtype=np.float32)
    u, v = np.meshgrid(grid, grid)
    mask = _SHAPES[shape](u, v)
    pts = np.stack([u[mask], v[mask]], axis=1).astype(np.float32)
    return cv2.convexHull(pts).reshape(-1, 2).astype(np.float64)


def object_box_bounds(shape: str, angle: float, aspect: float) -> tuple[float, ...]:
    """Bounds ``(x_min, x_max, y_min, y_max)`` of the shape at unit scale after stretch and
    rotation (shapes need not be centred on the origin)."""
    pts = _unit_hull(shape) * np.array([math.sqrt(aspect), 1.0 / math.sqrt(aspect)])
    c, s = math.cos(angle), math.sin(angle)
    x = pts[:, 0] * c - pts[:, 1] * s
    y = pts[:, 0] * s + pts[:, 1] * c
    return float(x.min()), float(x.max()), float(y.min()), float(y.max())


def render_object(rng: np.random.Generator, app: ClassAppearance, box_area: float, angle: float,
                  aspect: float) -> tuple[np.ndarray, np.ndarray]:
    """Renders one object into a tight patch.

    Args:
        rng (np.random.Generator): source of the colour jitter and pattern phase.
        app (ClassAppearance): the class look.
        box_area (float): target area of the object's bounding box in pixels (the rendered
            box may differ by about a pixel per side).
        angle (float): rotation in radians.
        aspect (float): stretch of the object frame (width / height before rotation).

    Returns:
        tuple: ``(patch, mask)``: float32 BGR (h, w, 3) and bool (h, w) cropped to the mask's
        tight box (both non-empty).
    """
    x_min, x_max, y_min, y_max = object_box_bounds(app.shape, angle, aspect)
    scale = max(math.sqrt(box_area / ((x_max - x_min) * (y_max - y_min))), 0.5)
    c, s = math.cos(angle), math.sin(angle)
    au, av = math.sqrt(aspect), 1.0 / math.sqrt(aspect)
    jitter = rng.uniform(-0.5, 0.5, size=2)
    while True:  # grows only for sub-pixel targets whose samples miss the shape
        # Pixel-centre grid covering the scaled bounds with a 1-2 px margin.
        x = np.arange(math.floor(scale * x_min) - 2, math.ceil(scale * x_max) + 2,
                      dtype=np.float32) + 0.5 + jitter[0]
        y = np.arange(math.floor(scale * y_min) - 2, math.ceil(scale * y_max) + 2,
                      dtype=np.float32) + 0.5 + jitter[1]
        xx, yy = np.meshgrid(x, y)
        u = (c * xx + s * yy) / (scale * au)
        v = (-s * xx + c * yy) / (scale * av)
        mask = _SHAPES[app.shape](u, v)
        if mask.any():
            break
        scale *= 1.5
    rows, cols = np.flatnonzero(mask.any(1)), np.flatnonzero(mask.any(0))
    sl = (slice(rows[0], rows[-1] + 1), slice(cols[0], cols[-1] + 1))
    mask, u, v = mask[sl], u[sl], v[sl]

    # Mild per-instance colour jitter keeps classes separable but not by one exact colour.
    hue = app.hue + rng.uniform(-0.025, 0.025)
    sat = rng.uniform(0.65, 0.95)
    val = rng.uniform(0.7, 1.0)
    main = _hsv_to_bgr(hue, sat, val)
    second = (_hsv_to_bgr(hue, sat, val * rng.uniform(0.25, 0.4)) if app.dark_second
              else _hsv_to_bgr(hue, sat * rng.uniform(0.1, 0.3), 1.0))
    t = _pattern(app.pattern, u, v, app.freq * rng.uniform(0.85, 1.2),
                 rng.uniform(0, 2 * math.pi))[..., None]
    patch = main * (1 - t) + second * t
    # Directional shading so objects are not flat cut-outs.
    light = rng.uniform(0, 2 * math.pi)
    shade = 1.0 + 0.12 * np.clip(u * math.cos(light) + v * math.sin(light), -1, 1)
    return patch * shade[..., None], mask


def _smooth_noise(rng: np.random.Generator, h: int, w: int, cells: int, channels: int,
                  sigma: float) -> np.ndarray:
    """Band-limited noise: a coarse Gaussian grid upsampled bicubically to (h, w, channels)."""
    gh = max(2, round(h / max(w, h) * cells))
    gw = max(2, round(w / max(w, h) * cells))
    grid = rng.normal(0.0, sigma, size=(gh, gw, channels)).astype(np.float32)
    out = cv2.resize(grid, (w, h), interpolation=cv2.INTER_CUBIC)
    return out.reshape(h, w, channels)


def render_background(rng: np.random.Generator, w: int, h: int) -> np.ndarray:
    """Textured, class-agnostic background as float32 BGR (h, w, 3).

    Smooth colour gradient + low/mid-frequency noise + random strokes and a faint hatched
    blob, all in random colours so none of it correlates with a class.
    """
    c0, c1 = rng.uniform(25, 230, size=(2, 3)).astype(np.float32)
    ang = rng.uniform(0, 2 * math.pi)
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    t = (xx / w - 0.5) * math.cos(ang) + (yy / h - 0.5) * math.sin(ang) + 0.5
    img = c0 + (c1 - c0) * np.clip(t, 0, 1)[..., None]
    img += _smooth_noise(rng, h, w, 4, 3, 22.0)
    img += _smooth_noise(rng, h, w, max(w, h) // 6, 1, 10.0)

    if rng.random() < 0.5:  # faint hatched blob: a texture that is not a class object
        blob = _smooth_noise(rng, h, w, 5, 1, 1.0)[..., 0] > 0.7
        hatch = _pattern(str(rng.choice(['stripes', 'checker', 'diagonal'])),
                         xx / max(w, h) * 8, yy / max(w, h) * 8, 1.0, rng.uniform(0, 6.3))
        colour = rng.uniform(0, 255, size=3).astype(np.float32)
        alpha = (rng.uniform(0.2, 0.4) * hatch * blob)[..., None]
        img = img * (1 - alpha) + colour * alpha

    img = np.clip(img, 0, 255).astype(np.uint8)
    thick_max = max(1, round(max(w, h) / 96))
    for _ in range(int(rng.integers(2, 7))):  # distractor strokes: lines, arcs, polylines
        colour = tuple(float(c) for c in rng.uniform(0, 255, size=3))
        thick = int(rng.integers(1, thick_max + 1))
        kind = rng.integers(3)
        if kind == 0:
            p0 = tuple(int(p) for p in rng.integers(0, (w, h)))
            p1 = tuple(int(p) for p in rng.integers(0, (w, h)))
            cv2.line(img, p0, p1, colour, thick, cv2.LINE_AA)
        elif kind == 1:
            centre = tuple(int(p) for p in rng.integers(0, (w, h)))
            axes = tuple(int(a) for a in rng.integers(4, max(5, max(w, h) // 3), size=2))
            start = float(rng.uniform(0, 360))
            cv2.ellipse(img, centre, axes, float(rng.uniform(0, 180)), start,
                        start + float(rng.uniform(40, 200)), colour, thick, cv2.LINE_AA)
        else:
            pts = rng.integers(0, (w, h), size=(int(rng.integers(3, 6)), 2)).astype(np.int32)
            cv2.polylines(img, [pts], False, colour, thick, cv2.LINE_AA)
    return img.astype(np.float32)


def add_pixel_noise(rng: np.random.Generator, img: np.ndarray, sigma: float) -> np.ndarray:
    """Adds white Gaussian noise and converts to uint8 (masks are unaffected)."""
    noise = rng.normal(0.0, sigma, size=img.shape[:2] + (1,)).astype(np.float32)
    return np.clip(img + noise + 0.5, 0, 255).astype(np.uint8)
