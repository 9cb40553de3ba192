"""Base class of every top-level WSOL model."""
from abc import ABCMeta, abstractmethod
from typing import Dict, List, Optional, Tuple, Union

import torch
from mmengine.model import BaseModel

from wsol_mm.structures import WSOLDataSample
from wsol_mm.utils.typing_utils import OptSampleList, SampleList


class BaseLocalizer(BaseModel, metaclass=ABCMeta):
    """Localizer interface: ``forward`` only dispatches on ``mode``.

    Subclasses implement ``extract_feat``, ``loss``, ``predict`` and ``_forward``.

    Args:
        data_preprocessor (dict, optional): config of the data preprocessor.
        init_cfg (dict, optional): mmengine init config.
    """

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
