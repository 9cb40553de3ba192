"""Conformer (CNN + transformer branches) returning the patch map, cls attention and CNN map."""
from functools import partial
from typing import Optional, Tuple, Union

import torch
import torch.nn as nn
import torch.nn.functional as F
from mmengine.logging import MMLogger
from mmengine.model import BaseModule
from timm.layers import trunc_normal_
from timm.models.vision_transformer import Block

from wsol_mm.registry import MODELS

from ..utils.cls_attention import block_with_cls_attention
from .backbone_lr_mixin import BackboneLRMixin
from .conformer_blocks import ConformerBottleneck, ConvTransBlock
from .pretrained import read_weights_file, resolve_weights

ARCH_SETTINGS = {
    # channel_ratio, embed_dim, num_heads (depth 12, mlp 4, qkv bias, patch 16)
    'small': (4, 384, 6),
    'tiny': (1, 384, 6),
    'base': (6, 576, 9),
}
# Classifier parts of released checkpoints; the wsol_mm heads own them.
_HEAD_PREFIXES = ('trans_cls_head.', 'conv_cls_head.')


@MODELS.register_module()
class Conformer(BackboneLRMixin, BaseModule):
    """Conformer backbone (TS-CAM's ``conformer_tscam_small_patch16`` trunk, spec §1.7).

    A ResNet-like CNN branch (stem + 12 bottleneck units at 1/4, 1/8, 1/16,
    1/32) and a transformer branch (12 blocks on 16x16 patches) exchange
    features in every unit. Module names follow the official release.

    Args:
        arch (str): ``'small'`` (Conformer-S, channel ratio 4, D=384, 6 heads),
            ``'tiny'`` or ``'base'``. Defaults to 'small'.
        depth (int): transformer depth, a multiple of 3 (12 in every released
            model; tests use 3). Defaults to 12.
        pretrained (str, optional): local official Conformer checkpoint
            (``model`` key or plain; ``module.`` and classifier keys dropped). The
            official files have no direct download: a missing file fails with one
            message naming the file to fetch (``pretrained.WEIGHT_SOURCES``).
        drop_path_rate (float): stochastic depth (linear). Defaults to 0.1.
        drop_rate (float): dropout in the transformer. Defaults to 0.
        out_cls_attention (bool): also return the cls-attention rows.
            Defaults to True.
        attn_mode (str): ``'row'`` or ``'full'`` (see ``VisionTransformer``).
        onednn_linear (bool): the transformer blocks' linear layers through oneDNN
            on CPU in float32 (see ``VisionTransformer``). Defaults to True.
        init_cfg (dict, optional): mmengine init config.

    ``forward`` returns ``(patch_map (B, D, H/16, W/16), cls_attn (B, L, N),
    cnn_map (B, 256*ratio*4, H/32, W/32))`` (without ``cls_attn`` when
    ``out_cls_attention`` is False). ``patch_map`` is after ``trans_norm``.
    """

    def __init__(self, arch: str = 'small', depth: int = 12,
                 pretrained: Union[str, bool, None] = None,
                 drop_path_rate: float = 0.1, drop_rate: float = 0.0,
                 out_cls_attention: bool = True, attn_mode: str = 'row',
                 onednn_linear: bool = True, init_cfg: Optional[dict] = None) -> None:
        super().__init__(init_cfg=init_cfg)
        if arch not in ARCH_SETTINGS:
            raise ValueError(f'Conformer arch {arch!r} unknown; use one of {sorted(ARCH_SETTINGS)}')
        if depth % 3 or depth < 3:
            raise ValueError(f'Conformer depth must be a positive multiple of 3, got {depth}')
        if attn_mode not in ('row', 'full'):
            raise ValueError(f"attn_mode must be 'row' or 'full', got {attn_mode!r}")
        # read first: a missing weights file fails before the layers are built
        state = resolve_weights(pretrained, f'conformer_{arch}', 'model.backbone.pretrained',
                                automatic=True)
        ratio, embed_dim, num_heads = ARCH_SETTINGS[arch]
        self.arch, self.depth, self.embed_dim = arch, depth, embed_dim
        self.with_cls_attention = out_cls_attention
        self.attn_mode = attn_mode
        self.onednn_linear = onednn_linear
        self.qk_scale = (embed_dim // num_heads)**-0.5
        dpr = torch.linspace(0, drop_path_rate, depth).tolist()

        def trans_block(i: int) -> Block:
            return Block(embed_dim, num_heads, mlp_ratio=4.0, qkv_bias=True, proj_drop=drop_rate,
                         drop_path=dpr[i], norm_layer=partial(nn.LayerNorm, eps=1e-6))

        self.cls_token = nn.Parameter(torch.zeros(1, 1, embed_dim))
        self.conv1 = nn.Conv2d(3, 64, 7, stride=2, padding=3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        self.maxpool = nn.MaxPool2d(3, stride=2, padding=1)
        channels = [64 * ratio, 64 * ratio * 2, 64 * ratio * 4]
        self.conv_1 = ConformerBottleneck(64, channels[0], res_conv=True)
        self.trans_patch_conv = nn.Conv2d(64, embed_dim, 4, stride=4)
        self.trans_1 = trans_block(0)
        per_stage = depth // 3
        self.unit_names = []
        for i in range(2, depth + 1):  # units 2..depth, as released: conv_trans_<i>
            stage = min((i - 1) // per_stage, 2)  # CNN stage: 1/4, 1/8, 1/16 maps
            first = i == stage * per_stage + 1 and stage > 0
            in_ch = channels[stage - 1] if first else channels[stage]
            unit = ConvTransBlock(in_ch, channels[stage], res_conv=first, stride=2 if first else 1,
                                  dw_stride=4 // 2**stage, trans_block=trans_block(i - 1),
                                  last_fusion=i == depth)
            self.add_module(f'conv_trans_{i}', unit)
            self.unit_names.append(f'conv_trans_{i}')
        self.trans_norm = nn.LayerNorm(embed_dim)
        self.out_channels = channels[2]
        self._init_random()
        if state is not None:
            self.load_state(state, pretrained if isinstance(pretrained, str) else arch)
        self._is_init = init_cfg is None  # weights are set (released init or checkpoint)

    def _init_random(self) -> None:
        """The released Conformer initialisation."""
        for m in self.modules():
            if isinstance(m, nn.Linear):
                trunc_normal_(m.weight, std=0.02)
                if m.bias is not None:
                    nn.init.zeros_(m.bias)
            elif isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode='fan_out', nonlinearity='relu')
            elif isinstance(m, (nn.LayerNorm, nn.BatchNorm2d)):
                nn.init.ones_(m.weight)
                nn.init.zeros_(m.bias)
        trunc_normal_(self.cls_token, std=0.02)

    def no_weight_decay(self) -> set:
        """Parameter names exempt from weight decay."""
        return {'cls_token'}

    def load_checkpoint(self, path: str) -> None:
        """Load an official Conformer checkpoint (classifiers dropped, strict otherwise)."""
        self.load_state(read_weights_file(path, f'conformer_{self.arch}',
                                          'model.backbone.pretrained'), path)

    def load_state(self, state: dict, source: str) -> None:
        """Load an official Conformer state dict (``module.`` and classifier keys dropped).

        Args:
            state (dict): the checkpoint's state dict.
            source (str): what to call it in messages (the file).
        """
        state = {(k[7:] if k.startswith('module.') else k): v for k, v in state.items()}
        state = {k: v for k, v in state.items() if not k.startswith(_HEAD_PREFIXES)}
        own = self.state_dict()
        missing, unexpected = sorted(set(own) - set(state)), sorted(set(state) - set(own))
        if missing or unexpected:
            raise KeyError(f'{source} does not match Conformer-{self.arch} depth {self.depth}: '
                           f'missing {missing[:8]}, unexpected {unexpected[:8]}')
        self.load_state_dict(state, strict=True)
        MMLogger.get_current_instance().info(f'Conformer: loaded {source}')

    def forward(self, x: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Return ``(patch_map, cls_attn, cnn_map)`` (see the class doc)."""
        stem = self.maxpool(F.relu(self.bn1(self.conv1(x))))
        cnn, _ = self.conv_1(stem)
        tokens = self.trans_patch_conv(stem)
        grid = tokens.shape[-2:]
        tokens = torch.cat([self.cls_token.expand(x.shape[0], -1, -1),
                            tokens.flatten(2).transpose(1, 2)], dim=1)
        rows = []
        tokens, row = self._trans(self.trans_1, tokens)
        rows.append(row)
        for name in self.unit_names:
            unit = getattr(self, name)
            cnn, mid = unit.cnn_block(cnn)
            tokens, row = self._trans(unit.trans_block,
                                      unit.squeeze_block(mid, tokens) + tokens)
            rows.append(row)
            cnn, _ = unit.fusion_block(cnn, unit.expand_block(tokens, grid))
        tokens = self.trans_norm(tokens)
        patch_map = tokens[:, 1:].transpose(1, 2).reshape(x.shape[0], -1, *grid)
        if not self.with_cls_attention:
            return patch_map, cnn
        return patch_map, torch.stack(rows, dim=1)[..., 1:], cnn

    def _trans(self, block: nn.Module,
               tokens: torch.Tensor) -> Tuple[torch.Tensor, Optional[torch.Tensor]]:
        return block_with_cls_attention(block, tokens, self.qk_scale, self.attn_mode,
                                        self.with_cls_attention, self.onednn_linear)
