"""SyntheticWSOL: a procedurally generated WSOL benchmark in wsolevaluation format.

Layout written under ``root`` (see ``specs/wsolevaluation_metrics.md`` §1.2)::

    images/<split>/<class_name>/<split>_<idx:05d>.png      BGR PNG; image id = path under images/
    masks/<split>/<split>_<idx:05d>_m<class>_<k>.png       instance masks (0/255)
    masks/<split>/<split>_<idx:05d>_ignore.png             ignore region (some images only)
    metadata/<split>/{image_ids,class_labels,image_sizes,localization}.txt        boxes
    metadata_masks/<split>/{image_ids,class_labels,image_sizes,localization}.txt  OpenImages style
    class_names.txt
    meta.json                                              config + stats, written last

Generation is atomic (a ``<root>.tmp-<pid>@<host>-<token>`` sibling renamed into place; those
of killed runs are removed by :func:`wsol_mm.fileio.clean_stale_temps`) and deterministic (one
``numpy`` Generator per image seeded by ``(seed, split, idx)``).
"""
import json
import math
import os
import os.path as osp
import shutil
import zlib
from dataclasses import asdict, dataclass, field, replace
from typing import Optional

import cv2
import numpy as np

from wsol_mm.fileio import clean_stale_temps, temp_sibling

from .integrity import FORMAT_VERSION, GENERATOR_NAME, check_existing, synthetic_is_complete
from .shapes import add_pixel_noise, class_appearance, render_background, render_object

__all__ = ['SyntheticConfig', 'preset_config', 'generate_synthetic', 'synthetic_class_names',
           'size_histogram', 'SIZE_BINS']

# Percent-of-image-area bins of the Small Object Matters size evaluation.
SIZE_BINS = (0, 1, 4, 9, 16, 25, 36, 49, 64, 81, 100)
# Box-area fraction ranges per preset: (low, high, break, fraction of objects below break).
# Sampling is uniform in sqrt(area) (i.e. in relative side length), like the size bins.
_PRESETS = {
    'default': (0.005, 0.65, None, None),
    'small': (0.003, 0.25, 0.04, 0.7),
    'large': (0.15, 0.65, None, None),
}
_IGNORE_PROB = 0.1


@dataclass
class SyntheticConfig:
    """Configuration of a SyntheticWSOL benchmark.

    Args:
        num_classes (int): number of object classes (shape + texture + colour each).
        image_size (int): side of the square images in pixels.
        image_size_wh (tuple, optional): ``(W, H)``; overrides ``image_size`` when given.
        splits (dict): images per split, e.g. ``{'train': 400, 'val': 100, 'test': 100}``.
        size_preset (str): object-size distribution: ``'default'`` (0.5-65 % of the image),
            ``'small'`` (~70 % of objects under 4 %, the rest up to 25 %) or ``'large'``.
        min_area (float, optional): smallest box-area fraction; overrides the preset.
        max_area (float, optional): largest box-area fraction; overrides the preset.
        max_objects (int): each image has 1..max_objects objects, all of its class.
        seed (int): master seed.
    """

    num_classes: int = 4
    image_size: int = 128
    image_size_wh: Optional[tuple[int, int]] = None
    splits: dict = field(default_factory=lambda: {'train': 400, 'val': 100, 'test': 100})
    size_preset: str = 'default'
    min_area: Optional[float] = None
    max_area: Optional[float] = None
    max_objects: int = 1
    seed: int = 0

    def __post_init__(self) -> None:
        if self.image_size_wh is not None:
            self.image_size_wh = tuple(int(x) for x in self.image_size_wh)
        w, h = self.wh
        if self.num_classes < 1 or min(w, h) < 16:
            raise ValueError(f'need num_classes >= 1 and images of at least 16 px, got '
                             f'num_classes={self.num_classes}, size={w}x{h}')
        if self.size_preset not in _PRESETS:
            raise ValueError(f'unknown size_preset {self.size_preset!r}, '
                             f'choose from {sorted(_PRESETS)}')
        lo, hi = self.area_range
        if not 0 < lo < hi <= 1:
            raise ValueError(f'need 0 < min_area < max_area <= 1, got {lo}, {hi}')
        if self.max_objects < 1:
            raise ValueError(f'max_objects must be >= 1, got {self.max_objects}')
        for name, n in self.splits.items():
            if not name or not name.replace('_', '').replace('-', '').isalnum() or n < 0:
                raise ValueError(f'bad split {name!r}: {n} (names: letters, digits, _ or -)')

    @property
    def wh(self) -> tuple[int, int]:
        """Image ``(W, H)``."""
        if self.image_size_wh is not None:
            return self.image_size_wh
        return self.image_size, self.image_size

    @property
    def area_range(self) -> tuple[float, float]:
        """Box-area fraction range after the min/max overrides."""
        lo, hi, _, _ = _PRESETS[self.size_preset]
        return (lo if self.min_area is None else self.min_area,
                hi if self.max_area is None else self.max_area)

    def to_dict(self) -> dict:
        """JSON-normalised dict (tuples become lists) used to compare configs."""
        return json.loads(json.dumps(asdict(self)))


def preset_config(name: str, **overrides) -> SyntheticConfig:
    """Returns a named configuration with field overrides.

    Args:
        name (str): ``'default'``, ``'small'`` or ``'large'`` (the size preset).
        **overrides: any :class:`SyntheticConfig` field.

    Returns:
        SyntheticConfig: the configuration.
    """
    if name not in _PRESETS:
        raise ValueError(f'unknown SyntheticWSOL preset {name!r}, choose from {sorted(_PRESETS)}')
    return replace(SyntheticConfig(size_preset=name), **overrides)


def synthetic_class_names(num_classes: int) -> list[str]:
    """Class names ``c<i>_<shape>`` in label order."""
    return [f'c{i}_{class_appearance(i).shape}' for i in range(num_classes)]


def size_histogram(ratios: np.ndarray) -> list[int]:
    """Counts of box-area ratios (fractions) in the ``SIZE_BINS`` percent bins."""
    counts, _ = np.histogram(np.asarray(ratios, dtype=np.float64) * 100, bins=SIZE_BINS)
    return [int(c) for c in counts]


def _sample_area(rng: np.random.Generator, cfg: SyntheticConfig) -> float:
    lo, hi = cfg.area_range
    _, _, brk, p_below = _PRESETS[cfg.size_preset]
    if brk is not None and lo < brk < hi:  # two-piece mixture (the small-object preset)
        lo, hi = (lo, brk) if rng.random() < p_below else (brk, hi)
    return rng.uniform(math.sqrt(lo), math.sqrt(hi)) ** 2


def _place_objects(rng: np.random.Generator, cfg: SyntheticConfig, label: int,
                   img: np.ndarray) -> list[np.ndarray]:
    """Draws 1..max_objects non-overlapping objects into ``img``; returns their masks."""
    h, w = img.shape[:2]
    app = class_appearance(label)
    n_obj = int(rng.integers(1, cfg.max_objects + 1))
    areas = [_sample_area(rng, cfg) for _ in range(n_obj)]
    if sum(areas) > 0.7:  # several large objects cannot fit side by side
        areas = [a * 0.7 / sum(areas) for a in areas]
    occupied = np.zeros((h, w), dtype=np.uint8)
    masks = []
    for k, area in enumerate(areas):
        angle = rng.uniform(0, 2 * math.pi)
        aspect = math.exp(rng.uniform(-0.2, 0.2))
        target = area * w * h
        for _attempt in range(12):
            patch, pmask = render_object(rng, app, target, angle, aspect)
            ph, pw = pmask.shape
            if ph > h or pw > w:  # rotated box larger than the image: shrink to fit
                target *= (min(h / ph, w / pw) * 0.98) ** 2
                continue
            placed = False
            for _try in range(20):
                y0, x0 = int(rng.integers(0, h - ph + 1)), int(rng.integers(0, w - pw + 1))
                if not (occupied[y0:y0 + ph, x0:x0 + pw] & pmask).any():
                    placed = True
                    break
            if placed:
                break
            target *= 0.7  # crowded: try a smaller instance
        else:
            if k == 0:
                raise RuntimeError('could not place the first object (internal error)')
            break  # give up on further objects; the image keeps those already placed
        full = np.zeros((h, w), dtype=bool)
        full[y0:y0 + ph, x0:x0 + pw] = pmask
        img[full] = patch[pmask]
        masks.append(full)
        # Keep a 2 px gap so neighbouring instances never touch.
        occupied |= cv2.dilate(full.astype(np.uint8), np.ones((5, 5), np.uint8))
    return masks


def _ignore_region(rng: np.random.Generator, masks: list[np.ndarray]) -> Optional[np.ndarray]:
    """A random ellipse away from every object (OpenImages-style ignore mask), or None."""
    h, w = masks[0].shape
    region = np.zeros((h, w), dtype=np.uint8)
    centre = (int(rng.integers(0, w)), int(rng.integers(0, h)))
    axes = (int(rng.integers(w // 10 + 1, w // 4 + 2)), int(rng.integers(h // 10 + 1, h // 4 + 2)))
    cv2.ellipse(region, centre, axes, float(rng.uniform(0, 180)), 0, 360, 1, -1)
    objects = np.zeros((h, w), dtype=np.uint8)
    for m in masks:
        objects |= m.astype(np.uint8)
    region[cv2.dilate(objects, np.ones((7, 7), np.uint8)) > 0] = 0
    return region.astype(bool) if region.sum() >= 16 else None


def _render_image(cfg: SyntheticConfig, split: str, idx: int, label: int) -> tuple:
    """Renders one image: ``(bgr uint8, instance masks, ignore mask or None)``."""
    rng = np.random.default_rng([cfg.seed, zlib.crc32(split.encode()), idx])
    w, h = cfg.wh
    img = render_background(rng, w, h)
    masks = _place_objects(rng, cfg, label, img)
    ignore = _ignore_region(rng, masks) if rng.random() < _IGNORE_PROB else None
    return add_pixel_noise(rng, img, 3.0), masks, ignore


def _split_labels(cfg: SyntheticConfig, split: str) -> np.ndarray:
    """Balanced, shuffled labels of a split."""
    n = cfg.splits[split]
    rng = np.random.default_rng([cfg.seed, zlib.crc32(split.encode()), 2**31])
    return rng.permutation(np.arange(n) % cfg.num_classes)


def _imwrite(path: str, img: np.ndarray) -> None:
    if not cv2.imwrite(path, img):
        raise OSError(f'cv2.imwrite failed for {path}')


def _write_split(tmp: str, cfg: SyntheticConfig, split: str, names: list[str],
                 pbar) -> list[float]:
    """Writes one split's images, masks and metadata; returns the box-area ratios."""
    w, h = cfg.wh
    for sub in ('metadata', 'metadata_masks'):
        os.makedirs(osp.join(tmp, sub, split))
    os.makedirs(osp.join(tmp, 'masks', split))
    for name in names:
        os.makedirs(osp.join(tmp, 'images', split, name))
    ids, labels_txt, sizes, boxes, mask_lines, ratios = [], [], [], [], [], []
    for idx, label in enumerate(_split_labels(cfg, split).tolist()):
        stem = f'{split}_{idx:05d}'
        image_id = f'{split}/{names[label]}/{stem}.png'
        img, masks, ignore = _render_image(cfg, split, idx, label)
        _imwrite(osp.join(tmp, 'images', image_id), img)
        ids.append(image_id)
        labels_txt.append(f'{image_id},{label}')
        sizes.append(f'{image_id},{w},{h}')
        ignore_rel = ''
        if ignore is not None:
            ignore_rel = f'{split}/{stem}_ignore.png'
            _imwrite(osp.join(tmp, 'masks', ignore_rel), ignore.astype(np.uint8) * 255)
        for k, m in enumerate(masks):
            ys, xs = np.nonzero(m)
            x0, y0, x1, y1 = int(xs.min()), int(ys.min()), int(xs.max()), int(ys.max())
            boxes.append(f'{image_id},{x0},{y0},{x1},{y1}')
            ratios.append((x1 - x0) * (y1 - y0) / (w * h))  # the size-metric formula
            mask_rel = f'{split}/{stem}_m{label}_{k}.png'
            _imwrite(osp.join(tmp, 'masks', mask_rel), m.astype(np.uint8) * 255)
            # OpenImages: the ignore path only on an image's first instance line.
            mask_lines.append(f'{image_id},{mask_rel},{ignore_rel if k == 0 else ""}')
        pbar.update(1)
    common = {'image_ids.txt': ids, 'class_labels.txt': labels_txt, 'image_sizes.txt': sizes}
    for sub, loc in (('metadata', boxes), ('metadata_masks', mask_lines)):
        for fname, lines in {**common, 'localization.txt': loc}.items():
            with open(osp.join(tmp, sub, split, fname), 'w') as f:
                f.write(''.join(line + '\n' for line in lines))
    return ratios


def generate_synthetic(root: str, cfg: SyntheticConfig, progress: bool = True,
                       overwrite: bool = False) -> str:
    """Generates the benchmark under ``root`` atomically; a no-op if already complete.

    Args:
        root (str): output directory, e.g. ``data/synthetic``.
        cfg (SyntheticConfig): what to generate.
        progress (bool): show a tqdm progress bar. Defaults to True.
        overwrite (bool): replace an existing SyntheticWSOL dataset with a different config.
            Defaults to False.

    Returns:
        str: ``root``.

    Raises:
        ValueError: ``root`` holds a dataset with another config (and not ``overwrite``), or
            is a non-empty directory that this generator did not write.
    """
    root = osp.normpath(root)
    if not overwrite and synthetic_is_complete(root, cfg):
        return root
    check_existing(root, cfg, overwrite)
    parent, base = osp.split(osp.abspath(root))
    os.makedirs(parent, exist_ok=True)
    clean_stale_temps(parent, prefix=base, force=True)  # dirs of killed generator runs
    tmp = temp_sibling(root, hidden=False)
    done = False
    try:
        os.makedirs(tmp)
        names = synthetic_class_names(cfg.num_classes)
        stats = {}
        from tqdm import tqdm
        with tqdm(total=sum(cfg.splits.values()), disable=not progress,
                  desc=f'SyntheticWSOL -> {root}', unit='img') as pbar:
            for split in cfg.splits:
                ratios = _write_split(tmp, cfg, split, names, pbar)
                stats[split] = dict(num_images=cfg.splits[split], num_objects=len(ratios),
                                    size_hist=size_histogram(ratios))
        with open(osp.join(tmp, 'class_names.txt'), 'w') as f:
            f.write(''.join(n + '\n' for n in names))
        meta = dict(generator=GENERATOR_NAME, format_version=FORMAT_VERSION,
                    config=cfg.to_dict(), class_names=names, size_bins_percent=list(SIZE_BINS),
                    stats=stats)
        with open(osp.join(tmp, 'meta.json'), 'w') as f:  # last: marks the dataset complete
            json.dump(meta, f, indent=2, sort_keys=True)
            f.write('\n')
        _move_into_place(tmp, root, cfg, overwrite)
        done = True
    finally:
        if not done:
            shutil.rmtree(tmp, ignore_errors=True)
    return root


def _move_into_place(tmp: str, root: str, cfg: SyntheticConfig, overwrite: bool) -> None:
    """Renames ``tmp`` to ``root``; the old dataset (overwrite) is removed only afterwards."""
    old = None
    if not overwrite and synthetic_is_complete(root, cfg):
        shutil.rmtree(tmp)  # a concurrent writer finished first; its files are identical
        return
    if osp.isdir(root) and os.listdir(root):
        old = f'{root}.old-{os.getpid()}'
        os.replace(root, old)
    try:
        os.replace(tmp, root)
    except OSError:
        # A concurrent writer finished first: keep its (identical) dataset.
        if old is None and synthetic_is_complete(root, cfg):
            shutil.rmtree(tmp, ignore_errors=True)
            return
        if old is not None:
            os.replace(old, root)
        raise
    if old is not None:
        shutil.rmtree(old, ignore_errors=True)
