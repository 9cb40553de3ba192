from .. import compat  # noqa: F401  (shims before torchvision, timm, mmengine's Runner)
from .prediction_view import PredictionView, cam_boxes
from .results_figures import draw_iou_vs_size, draw_size_gallery
from .wsol_visualizer import WSOLVisualizer, save_rgb

__all__ = [
    'WSOLVisualizer', 'PredictionView', 'cam_boxes', 'save_rgb', 'draw_size_gallery',
    'draw_iou_vs_size'
]
