"""DeiT / ViT backbone over timm that returns the patch map and the cls-attention rows."""
import math
from typing import Dict, Optional, Tuple, Union

import timm
import torch
import torch.nn as nn
from mmengine.logging import MMLogger
from mmengine.model import BaseModule
from timm.layers import resample_abs_pos_embed

from wsol_mm.registry import MODELS

from ..utils.cls_attention import block_with_cls_attention
from .backbone_lr_mixin import BackboneLRMixin
from .pretrained import read_weights_file, resolve_weights

# Short config names -> (timm model name, extra timm kwargs, attention scale override).
ARCH_SETTINGS: Dict[str, Tuple[str, dict, Optional[float]]] = {
    'deit_t': ('deit_tiny_patch16_224', {}, None),
    'deit_s': ('deit_small_patch16_224', {}, None),
    'deit_b': ('deit_base_patch16_224', {}, None),
    'vit_s': ('vit_small_patch16_224', {}, None),
    # The old (timm 0.3) "ViT-Small" geometry LCA-MD's `vit_lca_md_small` builds (spec 2.8):
    # D=768, depth 8, 8 heads, mlp 3, qkv bias, default LayerNorm eps, qk scale D^-0.5.
    'vit_s_legacy': ('vit_small_patch16_224',
                     dict(embed_dim=768, depth=8, num_heads=8, mlp_ratio=3.0, qkv_bias=True,
                          norm_layer=nn.LayerNorm), 768**-0.5),
}
# Accept timm's own names too; WEIGHTS_NAME: the `pretrained.WEIGHT_SOURCES` file of an arch.
WEIGHTS_NAME = {short: short for short in ARCH_SETTINGS}
for _short, (_name, _kw, _scale) in list(ARCH_SETTINGS.items()):
    if not _kw:
        ARCH_SETTINGS.setdefault(_name, (_name, _kw, _scale))
        WEIGHTS_NAME.setdefault(_name, _short)
_KEY = 'model.backbone.pretrained'

_DROP_PREFIXES = ('head.', 'head_dist.', 'fc_norm.', 'dist_token')


@MODELS.register_module()
class VisionTransformer(BackboneLRMixin, BaseModule):
    """DeiT/ViT trunk (timm) giving a ``(B, D, H/16, W/16)`` patch map.

    The blocks are timm's; this class runs its own loop over them so that,
    when ``out_cls_attention`` is set, it can return the head-averaged
    attention row of the class token in every block **without** building the
    ``N x N`` attention: the block output uses fused attention
    (``F.scaled_dot_product_attention``) and the class-query row
    ``softmax(q_cls K^T * scale)`` is computed beside it from the same
    ``q``/``k`` (differentiable). ``attn_mode='full'`` instead materialises
    the whole attention as the released TS-CAM code does (benchmark only).

    Args:
        arch (str): ``'deit_t'``, ``'deit_s'``, ``'deit_b'``, ``'vit_s'``,
            ``'vit_s_legacy'`` or a timm name of these. Defaults to 'deit_s'.
        pretrained (bool | str, optional): False/None: random init (timm's
            ViT init); True: the arch's ImageNet file of
            :data:`~wsol_mm.models.backbones.pretrained.WEIGHT_SOURCES` (the
            official DeiT file, timm's ViT-S, the timm-0.4.9 ViT-Small for
            ``vit_s_legacy``) from the download cache, downloaded when missing; a
            path: local DeiT/timm checkpoint (``.pth`` with a ``model``/``state_dict``
            key or plain, or ``.safetensors``; a ``module.`` prefix and the
            classifier are dropped).
        img_size (int): input side. Defaults to 224.
        drop_path_rate (float): stochastic depth. Defaults to 0.1 (TS-CAM).
        drop_rate (float): dropout after the position embedding and in the
            MLPs. Defaults to 0.
        out_cls_attention (bool): also return the cls-attention rows.
            Defaults to True.
        attn_mode (str): ``'row'`` (fused attention + cls row) or ``'full'``
            (explicit ``N x N`` softmax, kept for autograd). Defaults to 'row'.
        final_norm (bool): apply the last LayerNorm to the patch tokens
            (TS-CAM does). Defaults to True.
        onednn_linear (bool): run the blocks' linear layers through oneDNN in
            float32 on CPU (:func:`~wsol_mm.models.utils.onednn_linear`: the same
            products, 1.04-1.09x on the plain DeiT-S step here; in training each
            MLP keeps its GELU input only and recomputes the output,
            :func:`~wsol_mm.models.utils.recomputed_gelu_linear_function.gelu_linear_recomputed`);
            False: ``F.linear`` and timm's modules. Defaults to True.
        init_cfg (dict, optional): mmengine init config.

    Returns of ``forward``: ``(patch_map, )`` or ``(patch_map, cls_attn)`` with
    ``cls_attn`` of shape ``(B, L, N)``: for each of the ``L`` blocks the
    head-mean attention of the class-token query on the ``N = hw`` patch
    tokens, in raster order (the cls->cls entry is dropped, so a row sums to
    ``1 - attn[cls, cls]``).

    Examples:
        >>> m = VisionTransformer('deit_t', img_size=32)
        >>> fmap, attn = m(torch.rand(1, 3, 32, 32))
        >>> tuple(fmap.shape), tuple(attn.shape)
        ((1, 192, 2, 2), (1, 12, 4))
    """

    #: ``forward`` takes ``with_rows`` (a localizer whose loss reads no attention skips them)
    rows_on_request = True

    def __init__(self,
                 arch: str = 'deit_s',
                 pretrained: Union[bool, str, None] = False,
                 img_size: int = 224,
                 drop_path_rate: float = 0.1,
                 drop_rate: float = 0.0,
                 out_cls_attention: bool = True,
                 attn_mode: str = 'row',
                 final_norm: bool = True,
                 onednn_linear: bool = True,
                 init_cfg: Optional[dict] = None,
                 **timm_kwargs) -> None:
        super().__init__(init_cfg=init_cfg)
        if arch not in ARCH_SETTINGS:
            raise ValueError(f'VisionTransformer arch {arch!r} unknown; use one of '
                             f'{sorted(ARCH_SETTINGS)}')
        if attn_mode not in ('row', 'full'):
            raise ValueError(f"attn_mode must be 'row' or 'full', got {attn_mode!r}")
        # read first: a missing weights file fails before the layers are built
        state = resolve_weights(pretrained, WEIGHTS_NAME[arch], _KEY, automatic=True)
        timm_name, arch_kwargs, qk_scale = ARCH_SETTINGS[arch]
        kwargs = dict(arch_kwargs, **timm_kwargs)
        # Weights come from `pretrained` below (a local file or the download cache): timm
        # never downloads, so an offline machine gets one message naming the file.
        vit = timm.create_model(timm_name, pretrained=False, num_classes=0,
                                img_size=img_size, drop_rate=drop_rate,
                                drop_path_rate=drop_path_rate, **kwargs)
        if vit.num_prefix_tokens != 1 or getattr(vit, 'no_embed_class', False):
            raise ValueError(f'{timm_name}: only a single cls token with embedded position '
                             'is supported')
        self.arch = arch
        self.embed_dim = vit.embed_dim
        self.num_heads = vit.blocks[0].attn.num_heads
        self.patch_size = vit.patch_embed.patch_size[0]
        self.grid_size = tuple(vit.patch_embed.grid_size)
        self.with_cls_attention = out_cls_attention
        self.attn_mode = attn_mode
        self.onednn_linear = onednn_linear
        # timm's submodules kept under timm's names (a DeiT state dict loads as is).
        self.patch_embed = vit.patch_embed
        self.cls_token = vit.cls_token
        self.pos_embed = vit.pos_embed
        self.pos_drop = vit.pos_drop
        self.norm_pre = vit.norm_pre
        self.blocks = vit.blocks
        self.norm = vit.norm if final_norm else nn.Identity()
        self.qk_scale = qk_scale if qk_scale is not None else self.blocks[0].attn.scale
        if state is not None:
            self.load_state(state, pretrained if isinstance(pretrained, str) else arch)
        # timm initialised (or loaded) every weight already: mmengine must not redo it.
        self._is_init = init_cfg is None

    def no_weight_decay(self) -> set:
        """Parameter names exempt from weight decay (timm/DeiT convention)."""
        return {'pos_embed', 'cls_token'}

    def load_checkpoint(self, path: str) -> None:
        """Load a local DeiT/timm checkpoint (classifier and distillation parts dropped).

        Args:
            path (str): ``.pth`` file with a ``model``/``state_dict`` key or a
                plain state dict, or a ``.safetensors`` file.
        """
        self.load_state(read_weights_file(path, WEIGHTS_NAME[self.arch], _KEY), path)

    def load_state(self, state: dict, source: str) -> None:
        """Load a DeiT/timm state dict (classifier and distillation parts dropped).

        Args:
            state (dict): the checkpoint's state dict.
            source (str): what to call it in messages (the file).
        """
        state = {(k[7:] if k.startswith('module.') else k): v for k, v in state.items()}
        state = {k: v for k, v in state.items() if not k.startswith(_DROP_PREFIXES)}
        if 'pos_embed' in state and state['pos_embed'].shape != self.pos_embed.shape:
            old = int(math.sqrt(state['pos_embed'].shape[1] - 1))
            state['pos_embed'] = resample_abs_pos_embed(
                state['pos_embed'], new_size=list(self.grid_size), old_size=[old, old],
                num_prefix_tokens=1)
        own = self.state_dict()
        if isinstance(self.norm, nn.Identity):
            state = {k: v for k, v in state.items() if not k.startswith('norm.')}
        if self.arch == 'vit_s_legacy':
            state = self._legacy_state(state, own)
        missing = sorted(set(own) - set(state))
        unexpected = sorted(set(state) - set(own))
        if missing or unexpected:
            raise KeyError(f'{source} does not match {self.arch}: missing {missing[:8]}, '
                           f'unexpected {unexpected[:8]}; is it a {self.arch} checkpoint?')
        bad = [k for k in own if own[k].shape != state[k].shape]
        if bad:
            raise ValueError(f'{source}: shape mismatch for {bad[:8]} ({self.arch})')
        self.load_state_dict(state, strict=True)
        MMLogger.get_current_instance().info(f'VisionTransformer: loaded {source}')

    @staticmethod
    def _legacy_state(state: dict, own: dict) -> dict:
        """The timm-0.4.9 ViT-Small file in the ``vit_s_legacy`` layout.

        That model had no qkv bias: LCA-MD's ``vit_lca_md_small`` (qkv bias on) keeps its zero
        init for them, so do we. Files of the manual-patchify era store the patch projection
        as a matrix: reshaped to the conv kernel, as timm's loader of that version did.
        """
        state = dict(state)
        for name, value in own.items():
            if name.endswith('attn.qkv.bias') and name not in state:
                state[name] = torch.zeros_like(value)
        proj = 'patch_embed.proj.weight'
        if proj in state and state[proj].dim() < 4 \
                and state[proj].numel() == own[proj].numel():
            state[proj] = state[proj].reshape(own[proj].shape)
        return state

    def embed(self, x: torch.Tensor) -> torch.Tensor:
        """Patch embedding + cls token + position embedding -> ``(B, 1 + N, D)``."""
        x = self.patch_embed(x)
        x = torch.cat([self.cls_token.expand(x.shape[0], -1, -1), x], dim=1)
        return self.norm_pre(self.pos_drop(x + self.pos_embed))

    def block_forward(self, block: nn.Module, x: torch.Tensor,
                      with_row: bool = True) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        """One block with its cls-attention row (see ``block_with_cls_attention``)."""
        return block_with_cls_attention(block, x, self.qk_scale, self.attn_mode, with_row,
                                        self.onednn_linear)

    def forward(self, x: torch.Tensor,
                with_rows: Optional[bool] = None) -> Tuple[torch.Tensor, ...]:
        """Return ``(patch_map, )`` or ``(patch_map, cls_attn)`` (see the class doc).

        Args:
            x (Tensor): images ``(B, 3, H, W)``.
            with_rows (bool, optional): compute the cls-attention rows; None: as
                ``out_cls_attention`` says. Defaults to None.
        """
        with_rows = self.with_cls_attention if with_rows is None else with_rows
        x = self.embed(x)
        rows = []
        for block in self.blocks:
            x, row = self.block_forward(block, x, with_rows)
            if row is not None:
                rows.append(row[:, 1:])
        x = self.norm(x)
        h, w = self.grid_size
        patch_map = x[:, 1:].transpose(1, 2).reshape(x.shape[0], -1, h, w)
        if not with_rows:
            return (patch_map, )
        return patch_map, torch.stack(rows, dim=1)
