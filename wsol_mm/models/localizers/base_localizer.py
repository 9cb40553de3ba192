"""Base class of every top-level WSOL model: one interface, one post-processor."""
import inspect
from abc import ABCMeta, abstractmethod
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModel

from wsol_mm.registry import MODELS
from wsol_mm.structures import ClassMapOutput, ForwardPass, WSOLDataSample
from wsol_mm.utils.typing_utils import (
    ConfigType,
    OptConfigType,
    OptMultiConfig,
    OptSampleList,
    SampleList,
)

from ..backbones.backbone_lr_mixin import LR_RULES


def build_module(cfg: Union[ConfigType, nn.Module], **defaults) -> nn.Module:
    """Build ``cfg`` from ``MODELS`` unless it already is a module.

    ``defaults`` fill arguments the config leaves out, for the classes whose
    constructor takes them (e.g. ``num_classes`` of a TFCM neck from the head).
    """
    if isinstance(cfg, nn.Module):
        return cfg
    cfg = dict(cfg)
    if defaults:
        params = inspect.signature(MODELS.get(cfg['type']).__init__).parameters
        for key, value in defaults.items():
            if key in params:
                cfg.setdefault(key, value)
    return MODELS.build(cfg)


def gt_labels(data_samples: OptSampleList, device: torch.device) -> Optional[torch.Tensor]:
    """``(B,)`` GT labels of the batch, or None if a sample has none."""
    if not data_samples or any('gt_label' not in s for s in data_samples):
        return None
    return torch.cat([s.gt_label.view(-1)[:1] for s in data_samples]).to(device)


class BaseLocalizer(BaseModel, metaclass=ABCMeta):
    """Localizer interface: ``forward`` dispatches; one pass gives logits and class maps.

    Subclasses implement ``extract_feat`` and ``forward_cams`` (the localizer-level way
    to get logits and raw class maps of any classes from features, see
    :class:`ClassMapOutput`) and set ``self.head``. On top of these the base class gives:

    * ``predict``: ``forward_cams`` then the ONE CAM post-processor built from
      ``test_cfg`` (``norm``, ``interpolation``, ``topk_cams``);
    * ``forward_train`` / ``pass_losses``: one training pass and its loss terms - the
      head's classification loss of ``cls_logits`` plus each method component's own
      prefixed terms (``methods``), never overwriting each other;
    * ``loss`` = ``pass_losses(forward_train(...))``; wrappers (crop consistency) call
      ``forward_train`` and ``pass_losses`` on the inputs they choose.

    Args:
        methods (list[dict], optional): training-method components, each
            ``loss(fp: ForwardPass, data_samples) -> dict`` of its own terms (DA-WSOL,
            Bridging the gap). Inference ignores them. Defaults to None.
        data_preprocessor (dict, optional): Defaults to ``WSOLDataPreprocessor``.
        train_cfg (dict, optional): stored as ``self.train_cfg``.
        test_cfg (dict, optional): overrides of ``default_test_cfg``: the
            :class:`CAMPostProcessor` arguments ``norm`` (default MinMax),
            ``interpolation`` and ``topk_cams`` (default 5).
        init_cfg (dict, optional): mmengine init config.
        default_test_cfg (dict, optional): the subclass' inference defaults.
    """

    def __init__(self,
                 methods: Optional[List[ConfigType]] = None,
                 data_preprocessor: OptConfigType = None,
                 train_cfg: OptConfigType = None,
                 test_cfg: OptConfigType = None,
                 init_cfg: OptMultiConfig = None,
                 default_test_cfg: Optional[dict] = None) -> None:
        if data_preprocessor is None:
            data_preprocessor = dict(type='WSOLDataPreprocessor')
        super().__init__(data_preprocessor=data_preprocessor, init_cfg=init_cfg)
        self.train_cfg = dict(train_cfg or {})
        self.test_cfg = dict(default_test_cfg or {})
        self.test_cfg.update(test_cfg or {})
        post = dict(self.test_cfg)
        post.setdefault('type', 'CAMPostProcessor')
        self.postprocessor = MODELS.build(post)
        self.methods = nn.ModuleList([build_module(m) for m in (methods or [])])

    @property
    def num_classes(self) -> int:
        """Number of classes of the head."""
        return self.head.num_classes

    @property
    def cam_norm(self) -> nn.Module:
        """The score-map normaliser of ``test_cfg.norm``."""
        return self.postprocessor.norm

    def forward(self, inputs: torch.Tensor, data_samples: OptSampleList = None,
                mode: str = 'tensor') -> Union[Dict[str, torch.Tensor], List[WSOLDataSample],
                                               Tuple[torch.Tensor, ...]]:
        """Dispatch to ``loss`` / ``predict`` / ``_forward``.

        Args:
            inputs (Tensor): normalised images ``(B, 3, H, W)``.
            data_samples (list, optional): the batch's data samples.
            mode (str): ``'loss'``, ``'predict'`` or ``'tensor'``.
        """
        if mode == 'loss':
            return self.loss(inputs, data_samples)
        if mode == 'predict':
            return self.predict(inputs, data_samples)
        if mode == 'tensor':
            return self._forward(inputs, data_samples)
        raise RuntimeError(f'Invalid mode "{mode}"; use "loss", "predict" or "tensor"')

    @abstractmethod
    def extract_feat(self, inputs: torch.Tensor) -> Tuple[torch.Tensor, ...]:
        """Backbone (and neck) features."""

    @abstractmethod
    def forward_cams(self, feats: Tuple[torch.Tensor, ...]) -> ClassMapOutput:
        """Logits and class maps of any classes from ``feats`` (inference semantics)."""

    def forward_train(self, inputs: torch.Tensor,
                      data_samples: OptSampleList = None) -> ForwardPass:
        """One training pass: features, logits and maps (the head runs once)."""
        feats = self.extract_feat(inputs)
        cams = self.forward_cams(feats)
        return ForwardPass(inputs, feats, cams, cams.logits,
                           labels=gt_labels(data_samples, inputs.device))

    def pass_losses(self, fp: ForwardPass, data_samples: SampleList) -> dict:
        """Loss terms of one pass: ``loss_cls``, the pass' own terms and the methods' terms."""
        losses = self.head.loss_by_logits(fp.cls_logits, data_samples)
        merge_terms(losses, fp.losses, 'the training necks')
        for method in self.methods:
            merge_terms(losses, method.loss(fp, data_samples), type(method).__name__)
        return losses

    def loss(self, inputs: torch.Tensor, data_samples: SampleList) -> dict:
        """Loss dict of one pass; keys start with ``loss_`` (logged extras do not)."""
        return self.pass_losses(self.forward_train(inputs, data_samples), data_samples)

    def predict(self, inputs: torch.Tensor,
                data_samples: OptSampleList = None) -> List[WSOLDataSample]:
        """Samples with ``pred_score``, ``pred_label``, ``pred_cam`` (and ``pred_cams``)."""
        out = self.forward_cams(self.extract_feat(inputs))
        return self.postprocessor(out, data_samples, input_size=tuple(inputs.shape[-2:]))

    def _forward(self, inputs: torch.Tensor,
                 data_samples: Optional[SampleList] = None) -> Tuple[torch.Tensor, ...]:
        """``(logits (B, C), raw class maps (B, C, h, w))`` for export and FLOPs."""
        out = self.forward_cams(self.extract_feat(inputs))
        every = torch.arange(out.logits.shape[1], device=inputs.device)
        return out.logits, out.maps(every.expand(inputs.shape[0], -1))

    def is_classifier_param(self, name: str, rule: str = 'wsolevaluation') -> bool:
        """Whether parameter ``name`` gets the classifier learning rate under ``rule``.

        Everything outside the backbone (head, necks, method components) is a new
        layer; inside it the backbone decides (``BackboneLRMixin``).
        """
        if rule not in LR_RULES:
            raise ValueError(f'lr-group rule must be one of {LR_RULES}, got {rule!r}')
        if not name.startswith('backbone.'):
            return True
        matcher = getattr(self.backbone, 'is_classifier_param', None)
        if matcher is None:
            raise TypeError(f'{type(self.backbone).__name__} does not define its lr groups '
                            '(`is_classifier_param`); use `paramwise_cfg.classifier_keys` '
                            'or a backbone with BackboneLRMixin')
        return matcher(name[len('backbone.'):], rule)

    def legacy_key_map(self) -> Dict[str, str]:
        """``{current key: key in older wsol_mm checkpoints}`` where keys moved."""
        return {}

    def _load_from_state_dict(self, state_dict: dict, prefix: str, *args, **kwargs) -> None:
        # Older checkpoints (e.g. SCM's `ssfm.*`, LCA-MD's `tfcm.*` before the necks moved
        # into the neck list) load through the key map; torch and mmengine loaders both
        # call this before the children load.
        for new, old in self.legacy_key_map().items():
            if prefix + old in state_dict and prefix + new not in state_dict:
                state_dict[prefix + new] = state_dict.pop(prefix + old)
        super()._load_from_state_dict(state_dict, prefix, *args, **kwargs)


def merge_terms(losses: dict, terms: dict, who: str) -> None:
    """Add a component's own terms; a key that is already there is an error, not an overwrite."""
    clash = set(losses) & set(terms)
    if clash:
        raise KeyError(f'{who} returned the loss keys {sorted(clash)} that another part of the '
                       'model already produced; every component must prefix its own terms')
    losses.update(terms)
