"""Is a SyntheticWSOL folder complete, and if not, which files are missing or extra?"""
import json
import os
import os.path as osp
from typing import List, Optional

from wsol_mm.utils import DataFileError

__all__ = ['GENERATOR_NAME', 'FORMAT_VERSION', 'read_meta', 'synthetic_is_complete',
           'describe_incomplete', 'check_existing']

FORMAT_VERSION = 1
GENERATOR_NAME = 'wsol_mm.SyntheticWSOL'
_SHOWN = 5  # file names listed in a message


def read_meta(root: str) -> Optional[dict]:
    """``meta.json`` of a SyntheticWSOL folder, or None if absent, unreadable or foreign."""
    try:
        with open(osp.join(root, 'meta.json')) as f:
            meta = json.load(f)
    except (OSError, ValueError):
        return None
    return meta if isinstance(meta, dict) and meta.get('generator') == GENERATOR_NAME else None


def _listed_ids(root: str, sub: str, split: str) -> Optional[List[str]]:
    try:
        with open(osp.join(root, sub, split, 'image_ids.txt')) as f:
            return [line.strip() for line in f if line.strip()]
    except OSError:
        return None


def _image_files(root: str, split: str) -> List[str]:
    img_dir = osp.join(root, 'images', split)
    return [osp.relpath(osp.join(d, name), osp.join(root, 'images'))
            for d, _, names in os.walk(img_dir) for name in names]


def synthetic_is_complete(root: str, cfg) -> bool:
    """Whether ``root`` holds a finished dataset generated with exactly ``cfg``.

    Args:
        root (str): dataset directory.
        cfg (SyntheticConfig): expected configuration.

    Returns:
        bool: True if ``meta.json`` matches (format version and config), every split has
        the expected number of metadata lines and its image files are exactly those listed.
    """
    meta = read_meta(root)
    if meta is None or meta.get('format_version') != FORMAT_VERSION \
            or meta.get('config') != cfg.to_dict():
        return False
    for split, n in cfg.splits.items():
        for sub in ('metadata', 'metadata_masks'):
            ids = _listed_ids(root, sub, split)
            if ids is None or len(ids) != n:
                return False
        if n and set(_image_files(root, split)) != set(ids):
            return False
    return True


def describe_incomplete(root: str, cfg) -> str:
    """Name the files that keep ``root`` from being complete (for error messages)."""
    problems: List[str] = []
    for split, n in cfg.splits.items():
        for sub in ('metadata', 'metadata_masks'):
            ids = _listed_ids(root, sub, split)
            if ids is None:
                problems.append(f'{sub}/{split}/image_ids.txt is missing')
            elif len(ids) != n:
                problems.append(f'{sub}/{split}/image_ids.txt lists {len(ids)} images, '
                                f'the config {n}')
        listed = set(_listed_ids(root, 'metadata', split) or ())
        on_disk = set(_image_files(root, split))
        missing = sorted(listed - on_disk)
        extra = sorted(on_disk - listed) if listed else []
        problems += [f'images/{m} is missing (listed in metadata/{split}/image_ids.txt)'
                     for m in missing[:_SHOWN]]
        problems += [f'images/{e} is not in metadata/{split}/image_ids.txt'
                     for e in extra[:_SHOWN]]
        if len(missing) + len(extra) > 2 * _SHOWN:
            problems.append(f'... {len(missing)} missing and {len(extra)} extra images in '
                            f'images/{split}')
    return '; '.join(problems) or 'files were modified'


def check_existing(root: str, cfg, overwrite: bool) -> None:
    """Raise unless ``root`` is absent, empty or (with ``overwrite``) a SyntheticWSOL dir."""
    if not osp.exists(root) or (osp.isdir(root) and not os.listdir(root)):
        return
    meta = read_meta(root)
    if meta is None:
        # Never delete a directory we did not generate, even with overwrite=True.
        raise DataFileError(f'{root} exists and is not a SyntheticWSOL dataset (no valid '
                            'meta.json); choose another directory or delete it yourself')
    if overwrite:
        return
    old = meta.get('config', {})
    diff = sorted(k for k, v in cfg.to_dict().items() if old.get(k) != v)
    what = (f'a different config (differs in {", ".join(diff)})' if diff
            else f'missing or extra files: {describe_incomplete(root, cfg)}')
    raise DataFileError(f'{root} holds a SyntheticWSOL dataset with {what}; delete the folder '
                        '(it is regenerated on the next run) or regenerate it in place: '
                        'the dataset option overwrite=True, or make_synthetic.py --overwrite')
