"""Class names of a config's dataset, for figures and printed results."""
import copy
import warnings
from typing import Optional, Sequence, Tuple, Union

from mmengine.config import Config

from wsol_mm.utils.user_error import UserError

__all__ = ['get_class_names', 'resolve_class']


def get_class_names(cfg: Config, num_classes: Optional[int] = None,
                    dataloader: str = 'test_dataloader') -> Tuple[str, ...]:
    """``classes`` of the metainfo of ``cfg.<dataloader>.dataset``.

    Configs do not list class names; the dataset knows them (from its
    ``METAINFO``, a class-name file or its metadata). The dataset is built
    without loading its annotations when the names do not need them. When the
    data is not on this machine, ``class_<i>`` names are returned with one warning.

    Args:
        cfg (Config): a full config.
        num_classes (int, optional): length of the fallback names; the model
            head's ``num_classes`` by default.
        dataloader (str): which dataloader's dataset. Defaults to 'test_dataloader'.

    Returns:
        tuple[str]: one name per class.
    """
    from mmengine.registry import DefaultScope

    from wsol_mm.datasets.metadata import MetadataError
    from wsol_mm.registry import DATASETS
    from wsol_mm.utils import register_all_modules
    register_all_modules(init_default_scope=False)
    ds_cfg = copy.deepcopy(cfg.get(dataloader, {}).get('dataset'))
    err: Union[Exception, str] = f'{dataloader}.dataset is not set'
    if ds_cfg:
        ds_cfg['lazy_init'] = True
        if str(ds_cfg.get('type', '')).endswith('SyntheticWSOLDataset'):
            ds_cfg['auto_generate'] = False  # names only: never generate a benchmark for them
        try:
            with DefaultScope.overwrite_default_scope('wsol_mm'):
                dataset = DATASETS.build(ds_cfg)
                if not dataset.metainfo.get('classes'):
                    dataset.full_init()
            if dataset.metainfo.get('classes'):
                return tuple(dataset.metainfo['classes'])
            err = 'its metainfo has no classes'
        except (OSError, ValueError, KeyError, MetadataError) as error:
            err = error
    if num_classes is None:
        num_classes = cfg.model.get('head', {}).get('num_classes', 0)
    warnings.warn(f'class names of {dataloader}.dataset unavailable ({err}); '
                  'using class_<index>')
    return tuple(f'class_{i}' for i in range(int(num_classes)))


def resolve_class(value: Union[str, int], classes: Sequence[str]) -> int:
    """A class index from a name or an index given on the command line.

    Raises:
        ValueError: naming the valid choices when ``value`` is neither.
    """
    text = str(value)
    if text in classes:
        return list(classes).index(text)
    if text.lstrip('-').isdigit() and 0 <= int(text) < len(classes):
        return int(text)
    shown = ', '.join(list(classes)[:10]) + (' ...' if len(classes) > 10 else '')
    raise UserError(f'--target-class {value!r} is neither a class name nor an index in '
                     f'[0, {len(classes)}); classes: {shown}')
