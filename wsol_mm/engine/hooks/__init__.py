from .cam_visualization_hook import CAMVisualizationHook
from .class_num_check_hook import ClassNumCheckHook

__all__ = ['CAMVisualizationHook', 'ClassNumCheckHook']
