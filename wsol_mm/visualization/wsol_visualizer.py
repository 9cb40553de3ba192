"""CAM figures: image, CAM with a colour bar, overlay with GT / predicted boxes and a legend."""
import os.path as osp
from typing import Optional, Sequence, Union

import cv2
import numpy as np
from matplotlib.figure import Figure
from mmengine.dist import is_main_process
from mmengine.visualization import Visualizer

from wsol_mm.fileio.atomic_write import atomic_write_bytes
from wsol_mm.registry import VISUALIZERS

from .figures import (
    GT_COLOR,
    PRED_COLOR,
    box_legend,
    class_name,
    draw_boxes,
    figure_to_rgb,
    new_figure,
    overlay,
    show_cam,
    show_image,
)
from .prediction_view import PredictionView


@VISUALIZERS.register_module()
class WSOLVisualizer(Visualizer):
    """Visualizer of WSOL predictions, drawn in original-image coordinates.

    The figure has three panels (image with GT boxes; the CAM on a fixed [0, 1]
    scale with a colour bar; the overlay with GT boxes in green, solid, and the
    boxes of ``CAM > cam_thr`` in magenta, dashed, with a legend) and, with
    ``topk``, a row with the maps of the top-k predicted classes. Class names
    come from ``dataset_meta['classes']`` (set by the hook / tools from the
    dataset); scores are the softmax of the model.

    Args:
        name (str): instance name (visualizers are global singletons).
        alpha (float): weight of the heat map in overlays. Defaults to 0.5.
        panel_size (float): size of one panel in inches (100 dpi). Defaults to 4.2.
        **kwargs: passed to :class:`mmengine.visualization.Visualizer`.

    Examples:
        >>> import numpy as np, torch
        >>> from wsol_mm.structures import WSOLDataSample
        >>> s = WSOLDataSample(metainfo=dict(ori_shape=(40, 60), img_shape=(32, 32)))
        >>> s.pred_cam = torch.rand(32, 32)
        >>> vis = WSOLVisualizer(name='doctest')
        >>> vis.draw_prediction(np.zeros((40, 60, 3), np.uint8), s).ndim
        3
    """

    def __init__(self, name: str = 'visualizer', alpha: float = 0.5, panel_size: float = 4.2,
                 **kwargs) -> None:
        super().__init__(name=name, **kwargs)
        self.alpha = alpha
        self.panel_size = panel_size

    def _classes(self) -> Optional[Sequence[str]]:
        return (self.dataset_meta or {}).get('classes')

    def _headline(self, view: PredictionView, img_name: str) -> str:
        classes = self._classes()
        parts = [img_name] if img_name else []
        for tag, label in (('GT', view.gt_label), ('top-1', view.pred_label)):
            if label is not None:
                score = view.score(label)
                parts.append(f'{tag}: {class_name(label, classes)}'
                             + (f', p={score:.2f}' if score is not None else ''))
        return '   |   '.join(parts)

    def draw_prediction(self, image: np.ndarray, sample: Union[PredictionView, object],
                        cam_thr: float = 0.2, topk: int = 0, multi_contour: bool = False,
                        img_name: str = '') -> np.ndarray:
        """Draw one prediction; returns the figure as an RGB array.

        Args:
            image (np.ndarray): the ORIGINAL image, RGB ``(H0, W0, 3)``.
            sample: a predicted :class:`WSOLDataSample` (network frame + metainfo),
                a results-file record, or a ready :class:`PredictionView`.
            cam_thr (float): threshold of the predicted boxes. Defaults to 0.2.
            topk (int): add the maps of the first ``topk`` predicted classes.
            multi_contour (bool): draw every contour's box. Defaults to False.
            img_name (str): shown in the title.
        """
        return figure_to_rgb(self.prediction_figure(image, sample, cam_thr, topk,
                                                    multi_contour, img_name))

    def prediction_figure(self, image: np.ndarray, sample: Union[PredictionView, object],
                          cam_thr: float = 0.2, topk: int = 0, multi_contour: bool = False,
                          img_name: str = '') -> Figure:
        """The matplotlib figure of :meth:`draw_prediction` (same arguments)."""
        view = sample if isinstance(sample, PredictionView) else PredictionView.from_sample(
            sample, cam_thr, multi_contour, topk)
        if image.shape[:2] != view.cam.shape:
            raise ValueError(f'image {image.shape[:2]} is not the original size '
                             f'{view.cam.shape} of the prediction')
        classes = self._classes()
        k = len(view.topk_labels)
        size = self.panel_size
        row_h = 0.78 * size if k else 0.0
        legend_h = 0.55  # room under the panels for the legend
        height = 0.6 + size + legend_h + (row_h + 0.45 if k else 0.05)
        fig = new_figure(3 * size + 0.9, height)
        ratios = [size, legend_h] + ([row_h] if k else [])
        grid = fig.add_gridspec(len(ratios), 1, height_ratios=ratios, hspace=0.08, left=0.02,
                                right=0.97, top=1 - 0.6 / height, bottom=0.05 / height)
        top = grid[0].subgridspec(1, 3, wspace=0.12)
        ax_img, ax_cam, ax_ovl = (fig.add_subplot(top[0, i]) for i in range(3))
        h, w = image.shape[:2]
        show_image(ax_img, image, f'image ({w}x{h})')
        draw_boxes(ax_img, view.gt_boxes, GT_COLOR)
        cam_score = view.score(view.cam_label)
        show_cam(ax_cam, view.cam, f'CAM of {class_name(view.cam_label, classes)}'
                 + (f', p={cam_score:.2f}' if cam_score is not None else ''))
        iou = f', IoU {view.iou:.2f}' if view.iou is not None else ''
        show_image(ax_ovl, overlay(image, view.cam, self.alpha), f'overlay{iou}')
        draw_boxes(ax_ovl, view.gt_boxes, GT_COLOR)
        draw_boxes(ax_ovl, view.pred_boxes, PRED_COLOR, dashed=True)
        entries = [(f'CAM > {view.cam_thr:g} (prediction)', PRED_COLOR, True)]
        if len(view.gt_boxes):
            entries.insert(0, ('ground truth', GT_COLOR, False))
        box_legend(ax_ovl, entries)
        if k:
            row = grid[2].subgridspec(1, max(k, 3), wspace=0.08)
            for i, (label, cam) in enumerate(zip(view.topk_labels, view.topk_cams)):
                ax = fig.add_subplot(row[0, i])
                score = view.score(label)
                show_image(ax, overlay(image, cam, self.alpha),
                           f'top-{i + 1}: {class_name(label, classes)}'
                           + (f', p={score:.2f}' if score is not None else ''), fontsize=10)
        fig.suptitle(self._headline(view, img_name), fontsize=12, y=1 - 0.12 / height)
        return fig

    def add_datasample(self, name: str, image: np.ndarray, data_sample=None,
                       show: bool = False, wait_time: float = 0, out_file: Optional[str] = None,
                       cam_thr: float = 0.2, topk: int = 0, step: int = 0,
                       img_name: Optional[str] = None) -> None:
        """Draw one sample; show it, save it to ``out_file`` or send it to the backends.

        Every process may save files; windows and backends are rank 0's.

        Args:
            name (str): image name (title and backend key).
            image (np.ndarray): the original image, RGB.
            data_sample: the predicted sample.
            show (bool): open a window. Defaults to False.
            wait_time (float): seconds the window stays. Defaults to 0.
            out_file (str, optional): PNG path; the backends otherwise.
            cam_thr (float): threshold of the predicted boxes. Defaults to 0.2.
            topk (int): maps of the top-k classes too. Defaults to 0.
            step (int): global step for the backends. Defaults to 0.
            img_name (str, optional): image name in the title. Defaults to ``name``.
        """
        if out_file is None and not show and not is_main_process():
            return
        drawn = self.draw_prediction(image, data_sample, cam_thr, topk,
                                     img_name=name if img_name is None else img_name)
        self.set_image(drawn)
        if show and is_main_process():
            self.show(drawn, win_name=name, wait_time=wait_time)
        if out_file is not None:
            save_rgb(drawn, out_file)
        elif is_main_process():
            self.add_image(name, drawn, step)


def save_rgb(image: np.ndarray, out_file: str) -> None:
    """Write an RGB array as an image file, through a temporary name (no half files)."""
    ok, encoded = cv2.imencode(osp.splitext(out_file)[1] or '.png',
                               np.ascontiguousarray(image[..., ::-1]))
    if not ok:
        raise ValueError(f'cannot encode an image as {out_file} (unknown extension?)')
    atomic_write_bytes(out_file, encoded.tobytes(), fsync=False)
