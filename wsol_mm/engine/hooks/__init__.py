from .bridging_gap_warmup_hook import BridgingGapWarmupHook
from .cam_visualization_hook import CAMVisualizationHook
from .class_num_check_hook import ClassNumCheckHook
from .crop_consistency_hook import CropConsistencyHook
from .epoch_switch_hook import EpochSwitchHook
from .exact_resume_hook import ExactResumeHook
from .method_seed_hook import MethodSeedHook
from .non_finite_loss_hook import NonFiniteLossHook
from .progress_bar_hook import ProgressBarHook

__all__ = [
    'CAMVisualizationHook', 'ClassNumCheckHook', 'ProgressBarHook', 'CropConsistencyHook',
    'BridgingGapWarmupHook', 'EpochSwitchHook', 'MethodSeedHook', 'ExactResumeHook',
    'NonFiniteLossHook'
]
