from .class_map_output import ClassMapOutput
from .forward_pass import ForwardPass
from .wsol_data_sample import WSOLDataSample

__all__ = ['WSOLDataSample', 'ClassMapOutput', 'ForwardPass']
