"""Build a localizer from a config and run it on single images."""
import copy
from typing import Optional, Union

import numpy as np
import torch
import torch.nn as nn
from mmengine.config import Config
from mmengine.dataset import Compose

from wsol_mm.models.utils import largest_box_from_cam
from wsol_mm.registry import MODELS
from wsol_mm.utils import register_all_modules

from .runner_utils import load_checkpoint_strict


def init_localizer(config: Union[str, Config], checkpoint: Optional[str] = None,
                   device: str = 'cpu', cfg_options: Optional[dict] = None) -> nn.Module:
    """Build the model of ``config`` and load ``checkpoint``.

    Args:
        config (str | Config): config file or object.
        checkpoint (str, optional): checkpoint path; random weights if None.
        device (str): device to put the model on. Defaults to 'cpu'.
        cfg_options (dict, optional): overrides merged into the config.
    """
    register_all_modules()
    cfg = Config.fromfile(config) if isinstance(config, str) else copy.deepcopy(config)
    if cfg_options:
        cfg.merge_from_dict(cfg_options)
    model = MODELS.build(cfg.model)
    if checkpoint is not None:  # safe loading (weights_only); errors name the file
        load_checkpoint_strict(model, checkpoint)
    model.cfg = cfg
    return model.to(device).eval()


@torch.no_grad()
def inference_localizer(model: nn.Module, image: Union[str, np.ndarray],
                        cam_thr: float = 0.2) -> dict:
    """Classify one image and localise its top-1 class.

    Args:
        model (nn.Module): a model from :func:`init_localizer`.
        image (str | np.ndarray): an image path or a BGR array.
        cam_thr (float): CAM threshold of the returned box. Defaults to 0.2.

    Returns:
        dict: ``logits`` (C,), ``scores`` (C,), ``label`` (int), ``cam`` ((H, W)
        in [0, 1] at the network input size) and ``box`` (x0, y0, x1, y1) in the
        same frame, plus ``img_shape``.
    """
    steps = [t for t in model.cfg.test_dataloader.dataset.pipeline
             if t['type'] not in ('LoadImageFromFile', 'LoadWSOLAnnotations')]
    pipeline = Compose(steps)
    if isinstance(image, str):
        import mmcv
        img = mmcv.imread(image)
        if img is None:
            raise ValueError(f'image {image} cannot be read')
    else:
        img = image
    data = pipeline(dict(img=img, img_shape=img.shape[:2], ori_shape=img.shape[:2],
                         img_path=image if isinstance(image, str) else ''))
    batch = model.data_preprocessor(
        dict(inputs=[data['inputs']], data_samples=[data['data_samples']]), False)
    logits = model(batch['inputs'], mode='tensor')[0][0]
    sample = model(**batch, mode='predict')[0]
    cam = sample.pred_cam
    return dict(logits=logits.cpu(), scores=sample.pred_score.cpu(),
                label=int(sample.pred_label), cam=cam.cpu(),
                box=largest_box_from_cam(cam, cam_thr), img_shape=tuple(cam.shape))
