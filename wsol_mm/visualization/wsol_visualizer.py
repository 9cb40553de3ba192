"""CAM heat-map overlays with GT (green) and predicted (red) boxes."""
from typing import Optional

import cv2
import mmcv
import numpy as np
from mmengine.dist import master_only
from mmengine.visualization import Visualizer

from wsol_mm.registry import VISUALIZERS
from wsol_mm.structures import WSOLDataSample


@VISUALIZERS.register_module()
class WSOLVisualizer(Visualizer):
    """Visualizer of WSOL predictions.

    Args:
        name (str): instance name (visualizers are global singletons).
        alpha (float): weight of the heat map in the overlay. Defaults to 0.5.
        **kwargs: passed to :class:`mmengine.visualization.Visualizer`.
    """

    def __init__(self, name: str = 'visualizer', alpha: float = 0.5, **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        self.alpha = alpha

    def draw_cam_overlay(self, image: np.ndarray, data_sample: WSOLDataSample,
                         cam_thr: float = 0.2) -> np.ndarray:
        """Return an RGB overlay of ``pred_cam`` with GT and predicted boxes.

        Args:
            image (np.ndarray): RGB image at ``img_shape``.
            data_sample (WSOLDataSample): a sample with ``pred_cam``.
            cam_thr (float): threshold of the drawn predicted box.
        """
        from wsol_mm.models.utils import largest_box_from_cam
        out = image.copy()
        if 'pred_cam' in data_sample:
            cam = data_sample.pred_cam.cpu().numpy()
            heat = cv2.applyColorMap((cam * 255).astype(np.uint8), cv2.COLORMAP_JET)[..., ::-1]
            out = (out * (1 - self.alpha) + heat * self.alpha).astype(np.uint8)
            x0, y0, x1, y1 = largest_box_from_cam(cam, cam_thr)
            cv2.rectangle(out, (x0, y0), (x1, y1), (255, 0, 0), 2)
        if data_sample.gt_bboxes is not None:
            for x0, y0, x1, y1 in data_sample.gt_bboxes.int().tolist():
                cv2.rectangle(out, (x0, y0), (x1, y1), (0, 255, 0), 2)
        return out

    @master_only
    def add_datasample(self, name: str, image: np.ndarray, data_sample: WSOLDataSample,
                       show: bool = False, wait_time: float = 0, out_file: Optional[str] = None,
                       cam_thr: float = 0.2, step: int = 0) -> None:
        """Draw one sample and show it, save it to ``out_file`` or to the backends."""
        drawn = self.draw_cam_overlay(image, data_sample, cam_thr)
        self.set_image(drawn)
        if show:
            self.show(drawn, win_name=name, wait_time=wait_time)
        if out_file is not None:
            mmcv.imwrite(drawn[..., ::-1], out_file)
        else:
            self.add_image(name, drawn, step)
