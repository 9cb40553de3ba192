from .wsol_data_sample import WSOLDataSample

__all__ = ['WSOLDataSample']
