from .wsol_visualizer import WSOLVisualizer

__all__ = ['WSOLVisualizer']
