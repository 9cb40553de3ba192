"""Converters from native dataset files to wsolevaluation metadata (used by tools/)."""
from .coco import coco_to_wsol, read_coco_wsol
from .cub import cub_box_to_xyxy, cub_to_wsol, read_cub_classes, read_cub_native
from .imagenet import imagenet_train_to_wsol, imagenet_val_to_wsol, parse_voc_xml, read_synsets
from .wsol_writer import read_image_size, write_wsol_split

__all__ = ['cub_box_to_xyxy', 'cub_to_wsol', 'read_cub_classes', 'read_cub_native',
           'imagenet_train_to_wsol', 'imagenet_val_to_wsol', 'parse_voc_xml', 'read_synsets',
           'read_image_size', 'write_wsol_split', 'coco_to_wsol', 'read_coco_wsol']
