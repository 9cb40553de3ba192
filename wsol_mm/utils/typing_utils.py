"""Type aliases shared by the package (as in mmdet)."""
from typing import List, Optional, Union

from mmengine.config import ConfigDict

from wsol_mm.structures import WSOLDataSample

ConfigType = Union[ConfigDict, dict]
OptConfigType = Optional[ConfigType]
MultiConfig = Union[ConfigType, List[ConfigType]]
OptMultiConfig = Optional[MultiConfig]
SampleList = List[WSOLDataSample]
OptSampleList = Optional[SampleList]
