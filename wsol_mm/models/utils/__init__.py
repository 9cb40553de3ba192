from .batch_gather import gather_batch
from .cam_utils import largest_box_from_cam, resize_cams, select_cam_classes
from .cls_attention import block_with_cls_attention
from .folded_cls_row_function import FoldedClsRowFunction
from .global_mean_pool_function import global_mean_pool
from .memory_format import feed_contiguous
from .method_rng import MethodRNG, method_rng
from .onednn_linear_function import onednn_linear
from .precision import at_least_float32, autocast_off, records_float32
from .recomputed_batch_norm_relu_function import bn_relu_recomputed
from .recomputed_gelu_linear_function import gelu_linear_recomputed
from .recomputed_max_pool2d_function import max_pool2d_recomputed
from .sampled_mask_dropout import SampledMaskDropout, dropout
from .weight_init import init_wsol_weights

__all__ = [
    'largest_box_from_cam', 'resize_cams', 'select_cam_classes', 'init_wsol_weights',
    'block_with_cls_attention', 'FoldedClsRowFunction', 'at_least_float32', 'records_float32',
    'autocast_off',
    'MethodRNG', 'method_rng',
    'gather_batch', 'feed_contiguous', 'onednn_linear', 'SampledMaskDropout', 'dropout',
    'max_pool2d_recomputed', 'bn_relu_recomputed', 'gelu_linear_recomputed', 'global_mean_pool'
]
