"""Base class of every top-level WSOL model."""
from abc import ABCMeta, abstractmethod
from typing import Dict, List, Optional, Tuple, Union

import torch
import torch.nn as nn
from mmengine.model import BaseModel

from wsol_mm.registry import MODELS
from wsol_mm.structures import WSOLDataSample
from wsol_mm.utils.typing_utils import (
    ConfigType,
    OptConfigType,
    OptMultiConfig,
    OptSampleList,
    SampleList,
)


def build_module(cfg: Union[ConfigType, nn.Module]) -> nn.Module:
    """Build ``cfg`` from ``MODELS`` unless it already is a module."""
    return cfg if isinstance(cfg, nn.Module) else MODELS.build(cfg)


class BaseLocalizer(BaseModel, metaclass=ABCMeta):
    """Localizer interface: ``forward`` only dispatches on ``mode``.

    Subclasses implement ``extract_feat``, ``loss``, ``predict`` and ``_forward``
    and set ``self.head`` (whose ``num_classes`` is the model's).

    Args:
        data_preprocessor (dict, optional): config of the data preprocessor.
            Defaults to ``WSOLDataPreprocessor``.
        train_cfg (dict, optional): stored as ``self.train_cfg``.
        test_cfg (dict, optional): overrides of ``default_test_cfg``, stored
            as ``self.test_cfg``.
        init_cfg (dict, optional): mmengine init config.
        default_test_cfg (dict, optional): the subclass' inference defaults.
    """

    def __init__(self,
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

    @property
    def num_classes(self) -> int:
        """Number of classes of the head."""
        return self.head.num_classes

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
    def loss(self, inputs: torch.Tensor, data_samples: SampleList) -> dict:
        """Loss dict; keys start with ``loss_``."""

    @abstractmethod
    def predict(self, inputs: torch.Tensor,
                data_samples: OptSampleList = None) -> List[WSOLDataSample]:
        """Samples with ``pred_score``, ``pred_label``, ``pred_cam`` (and ``pred_cams``)."""

    @abstractmethod
    def _forward(self, inputs: torch.Tensor,
                 data_samples: Optional[SampleList] = None) -> Tuple[torch.Tensor, ...]:
        """Plain tensors for export/FLOPs (e.g. ``(logits, )``)."""
