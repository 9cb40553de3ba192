"""ILSVRC2012 files -> wsolevaluation metadata (test = ImageNet val with boxes, train list).

* Synset list: one line per class, ``<wnid>[ <description>]`` (e.g.
  ``LOC_synset_mapping.txt``); the line index is the label (sorted wnids, as
  torchvision / wsolevaluation).
* Val boxes: one PASCAL-VOC XML per image (``ILSVRC2012_val_00000001.xml``) with
  ``<size><width>/<height>`` and ``<object><name>wnid</name><bndbox>`` entries;
  coordinates are copied as in wsolevaluation's ``metadata/ILSVRC/test``
  (clipped to ``W-1``/``H-1``).
* Train: ``train/<wnid>/<file>.JPEG`` folders; labels only (no boxes, no sizes).
"""
import os
import os.path as osp
import xml.etree.ElementTree as ET
from typing import Dict, List, Tuple

from ..metadata import MetadataError
from .wsol_writer import write_wsol_split

IMG_EXTS = ('.jpeg', '.jpg', '.png')


def read_synsets(path: str) -> Dict[str, int]:
    """``{wnid: label}`` from a synset list (``<wnid> [description]`` per line)."""
    if not osp.isfile(path):
        raise FileNotFoundError(f'synset list {path} not found (e.g. LOC_synset_mapping.txt)')
    synsets: Dict[str, int] = {}
    with open(path, encoding='utf-8') as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            wnid = line.split()[0]
            if not (wnid.startswith('n') and wnid[1:].isdigit()):
                raise MetadataError(f'{path}:{lineno}: {wnid!r} is not a WordNet id (nXXXXXXXX)')
            if wnid in synsets:
                raise MetadataError(f'{path}:{lineno}: duplicate synset {wnid}')
            synsets[wnid] = len(synsets)
    return synsets


def _int(node: ET.Element, tag: str, path: str) -> int:
    text = node.findtext(tag)
    if text is None:
        raise MetadataError(f'{path}: <{tag}> missing')
    try:
        return int(float(text))
    except ValueError:
        raise MetadataError(f'{path}: <{tag}> = {text!r} is not a number') from None


def parse_voc_xml(path: str, synsets: Dict[str, int]) -> Tuple[int, Tuple[int, int], List]:
    """``(label, (W, H), boxes)`` of one ImageNet val XML (all objects share the class)."""
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        raise MetadataError(f'{path}: not valid XML ({e})') from None
    size_node = root.find('size')
    if size_node is None:
        raise MetadataError(f'{path}: <size> missing')
    w, h = _int(size_node, 'width', path), _int(size_node, 'height', path)
    label, boxes = None, []
    for obj in root.findall('object'):
        wnid = obj.findtext('name')
        if wnid not in synsets:
            raise MetadataError(f'{path}: object class {wnid!r} is not in the synset list')
        if label is not None and synsets[wnid] != label:
            raise MetadataError(f'{path}: objects of different classes; ImageNet val has one')
        label = synsets[wnid]
        bb = obj.find('bndbox')
        if bb is None:
            raise MetadataError(f'{path}: <object> without <bndbox>')
        x0, y0, x1, y1 = (_int(bb, t, path) for t in ('xmin', 'ymin', 'xmax', 'ymax'))
        boxes.append([max(x0, 0), max(y0, 0), min(x1, w - 1), min(y1, h - 1)])
    if label is None:
        raise MetadataError(f'{path}: no <object>; every val image needs a box')
    return label, (w, h), boxes


def imagenet_val_to_wsol(xml_dir: str, synset_file: str, out_dir: str,
                         img_prefix: str = 'val', img_ext: str = '.JPEG') -> int:
    """Write wsolevaluation ``test`` metadata from per-image val XMLs; returns #images."""
    synsets = read_synsets(synset_file)
    names = sorted(n for n in os.listdir(xml_dir) if n.endswith('.xml'))
    if not names:
        raise FileNotFoundError(f'no .xml files in {xml_dir}')
    records = []
    for name in names:
        label, size, boxes = parse_voc_xml(osp.join(xml_dir, name), synsets)
        img_id = f'{img_prefix}/{osp.splitext(name)[0]}{img_ext}'
        records.append(dict(img_id=img_id, gt_label=label, ori_size=size, gt_bboxes=boxes))
    return write_wsol_split(out_dir, records)


def imagenet_train_to_wsol(train_dir: str, synset_file: str, out_dir: str,
                           img_prefix: str = 'train') -> int:
    """Write the ``train`` image list and labels from ``train/<wnid>/`` folders."""
    synsets = read_synsets(synset_file)
    records = []
    for wnid in sorted(os.listdir(train_dir)):
        folder = osp.join(train_dir, wnid)
        if not osp.isdir(folder):
            continue
        if wnid not in synsets:
            raise MetadataError(f'{folder}: folder {wnid!r} is not in {synset_file}')
        for name in sorted(os.listdir(folder)):
            if name.lower().endswith(IMG_EXTS):
                records.append(dict(img_id=f'{img_prefix}/{wnid}/{name}',
                                    gt_label=synsets[wnid]))
    return write_wsol_split(out_dir, records)
