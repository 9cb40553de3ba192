"""Build a localizer from a config and run it on single images."""
import copy
from typing import Optional, Union

import numpy as np
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.dataset import Compose

from wsol_mm.fileio import read_image
from wsol_mm.registry import MODELS
from wsol_mm.utils import register_all_modules

from .preflight import drop_pretrained
from .runner_utils import load_checkpoint_strict


def init_localizer(config: Union[str, Config], checkpoint: Optional[str] = None,
                   device: str = 'cpu', cfg_options: Optional[dict] = None) -> nn.Module:
    """Build the model of ``config`` and load ``checkpoint``.

    Args:
        config (str | Config): config file or object.
        checkpoint (str, optional): checkpoint path; the model is then built without its
            ImageNet weights (the checkpoint replaces them: no download, no weight file).
            None: the config's weights (ImageNet or random).
        device (str): device to put the model on. Defaults to 'cpu'.
        cfg_options (dict, optional): overrides merged into the config.
    """
    register_all_modules()
    cfg = Config.fromfile(config) if isinstance(config, str) else copy.deepcopy(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    if checkpoint is not None:  # it holds every weight: no ImageNet file, no network
        drop_pretrained(cfg.model)
    model = MODELS.build(cfg.model)
    if checkpoint is not None:  # safe loading (weights_only); errors name the file
        load_checkpoint_strict(model, checkpoint)
    model.cfg = cfg
    return model.to(device).eval()


@torch.no_grad()
def inference_localizer(model: nn.Module, image: Union[str, np.ndarray],
                        cam_thr: float = 0.2, target_class: Optional[int] = None) -> dict:
    """Classify one image and localise its top-1 class (or ``target_class``).

    Args:
        model (nn.Module): a model from :func:`init_localizer`.
        image (str | np.ndarray): an image path or a BGR array.
        cam_thr (float): CAM threshold of the returned box. Defaults to 0.2.
        target_class (int, optional): class whose map ``cam`` is; the top-1
            prediction when None. The model's ``test_cfg`` (normalisation,
            ``topk_cams``) applies as in testing.

    Returns:
        dict: in ORIGINAL-image coordinates: ``cam`` ((H0, W0) in [0, 1], of
        class ``cam_label``), ``box`` (x0, y0, x1, y1, inclusive pixels, largest
        contour of ``cam > cam_thr``), ``topk_cams`` ((K, H0, W0)) of
        ``topk_labels``, ``ori_shape``; in the network-input frame:
        ``input_cam`` ((H, W)), ``input_box``, ``input_topk_cams``,
        ``img_shape``; and ``logits`` (C,), ``scores`` (C,), ``label`` (top-1,
        int) and ``sample`` (the predicted :class:`WSOLDataSample`).
    """
    steps = [t for t in model.cfg.test_dataloader.dataset.pipeline
             if t['type'] not in ('LoadImageFromFile', 'LoadWSOLAnnotations')]
    pipeline = Compose(steps)
    img = read_image(image) if isinstance(image, str) else image  # errors name the file
    data = pipeline(dict(img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2],
                         img_path=image if isinstance(image, str) else ''))
    if target_class is not None:  # predict() writes pred_cam for the sample's label
        data['data_samples'].set_gt_label(int(target_class))
    batch = model.data_preprocessor(
        dict(inputs=[data['inputs']], data_samples=[data['data_samples']]), False)
    sample = model(**batch, mode='predict')[0]  # one pass: the post-processor keeps the logits
    return _original_frame_result(sample, sample.pred_logits, cam_thr)


def _original_frame_result(sample, logits: torch.Tensor, cam_thr: float) -> dict:
    """The returned mapping: maps and boxes in original-image pixels (input frame kept)."""
    from wsol_mm.utils.frames import boxes_to_original, map_to_original
    from wsol_mm.visualization import cam_boxes
    meta = sample.metainfo
    cam = sample.pred_cam.float().cpu().numpy()
    input_box = tuple(int(v) for v in cam_boxes(cam, cam_thr)[0])
    topk = sample.get('pred_cams')
    topk = np.zeros((0, ) + cam.shape, np.float32) if topk is None else topk.cpu().numpy()
    labels = sample.get('pred_cam_labels')
    return dict(logits=logits.cpu(), scores=sample.pred_score.cpu(),
                label=int(sample.pred_label), cam_label=int(sample.gt_label)
                if 'gt_label' in sample else int(sample.pred_label),
                cam=np.clip(map_to_original(cam, meta), 0, 1),
                box=tuple(int(v) for v in boxes_to_original([input_box], meta)[0]),
                topk_cams=np.clip(map_to_original(topk, meta), 0, 1) if len(topk) else topk,
                topk_labels=[] if labels is None else [int(v) for v in labels],
                ori_shape=tuple(meta['ori_shape'][:2]), input_cam=cam, input_box=input_box,
                input_topk_cams=topk, img_shape=tuple(cam.shape), sample=sample)
