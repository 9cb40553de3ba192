"""Class names come from the config's test dataset; a clear fallback without the data."""
import pytest
from mmengine.config import Config

from tests.test_tools.vis_tool_utils import write_config
from wsol_mm.apis import get_class_names, resolve_class
from wsol_mm.utils import UserError


def test_names_from_the_dataset_and_fallback_without_data(tiny_synthetic, tmp_path):
    cfg = Config.fromfile(write_config(str(tmp_path / 'cfg.py'), tiny_synthetic))
    assert get_class_names(cfg) == ('c0_disc', 'c1_square', 'c2_triangle', 'c3_cross')
    cfg.test_dataloader.dataset.data_root = str(tmp_path / 'absent')
    with pytest.warns(UserWarning, match='class names of test_dataloader.dataset unavailable'):
        assert get_class_names(cfg) == ('class_0', 'class_1', 'class_2', 'class_3')
    assert not (tmp_path / 'absent').exists()  # nothing generated just for the names


def test_resolve_class_by_name_or_index():
    classes = ('cat', 'dog')
    assert resolve_class('dog', classes) == 1 and resolve_class('0', classes) == 0
    with pytest.raises(UserError, match="'2' is neither a class name nor an index"):
        resolve_class('2', classes)
