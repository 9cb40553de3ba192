"""Reader of wsolevaluation split metadata (``<root>/<DATASET>/<split>/*.txt``)."""
import os.path as osp
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

__all__ = ['WSOLSplit', 'read_wsol_split']


@dataclass
class WSOLSplit:
    """One split's metadata (boxes in original-image pixels, inclusive xyxy)."""
    image_ids: List[str]
    labels: Dict[str, int]
    sizes: Dict[str, Tuple[int, int]] = field(default_factory=dict)  # (W, H)
    boxes: Dict[str, List[Tuple[float, ...]]] = field(default_factory=dict)
    mask_paths: Dict[str, List[str]] = field(default_factory=dict)
    ignore_paths: Dict[str, Optional[str]] = field(default_factory=dict)


def _lines(path: str):
    if not osp.isfile(path):
        raise FileNotFoundError(f'Metadata file not found: {path}')
    with open(path) as f:
        for lineno, line in enumerate(f, 1):
            if line.strip():
                yield lineno, line.rstrip('\n').strip()


def _fields(path: str, lineno: int, line: str, num: int) -> List[str]:
    parts = line.split(',')
    if len(parts) != num:
        raise ValueError(f'{path}:{lineno}: expected {num} comma-separated fields, '
                         f'got {len(parts)}: {line!r}')
    return parts


def read_wsol_split(metadata_root: str, dataset: str, split: str) -> WSOLSplit:
    """Parse ``image_ids``, ``class_labels``, ``image_sizes`` and ``localization``.

    Args:
        metadata_root (str): folder holding ``<DATASET>/<split>/``.
        dataset (str): ``CUB``, ``ILSVRC`` or ``OpenImages`` (mask lines).
        split (str): ``train``, ``val`` or ``test``.

    Returns:
        WSOLSplit: the parsed metadata; errors name the file and line.
    """
    folder = osp.join(metadata_root, dataset, split)
    ids = [line for _, line in _lines(osp.join(folder, 'image_ids.txt'))]
    out = WSOLSplit(image_ids=ids, labels={})
    path = osp.join(folder, 'class_labels.txt')
    for lineno, line in _lines(path):
        img_id, label = _fields(path, lineno, line, 2)
        out.labels[img_id] = int(label)
    path = osp.join(folder, 'image_sizes.txt')
    if osp.isfile(path):
        for lineno, line in _lines(path):
            img_id, w, h = _fields(path, lineno, line, 3)
            out.sizes[img_id] = (int(w), int(h))
    path = osp.join(folder, 'localization.txt')
    for lineno, line in _lines(path):
        if dataset == 'OpenImages':
            img_id, mask, ignore = _fields(path, lineno, line, 3)
            out.mask_paths.setdefault(img_id, []).append(mask)
            if img_id not in out.ignore_paths:
                out.ignore_paths[img_id] = ignore or None
            elif ignore:
                raise ValueError(f'{path}:{lineno}: only the first line of an image may '
                                 f'give an ignore path')
        else:
            img_id, *coords = _fields(path, lineno, line, 5)
            out.boxes.setdefault(img_id, []).append(tuple(float(c) for c in coords))
    for img_id in ids:
        if img_id not in out.labels:
            raise ValueError(f'{osp.join(folder, "class_labels.txt")}: no label for {img_id!r}')
    return out
