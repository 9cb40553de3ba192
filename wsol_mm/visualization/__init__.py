from .prediction_view import PredictionView, cam_boxes
from .wsol_visualizer import WSOLVisualizer, save_rgb

__all__ = ['WSOLVisualizer', 'PredictionView', 'cam_boxes', 'save_rgb']
