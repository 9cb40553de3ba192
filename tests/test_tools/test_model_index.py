"""The root model-index.yml imports every method folder's metafile, whose configs exist."""
import glob
import os.path as osp

import yaml

from tests.test_tools.vis_tool_utils import REPO_ROOT


def test_model_index_lists_every_metafile_and_their_configs_exist():
    with open(osp.join(REPO_ROOT, 'model-index.yml')) as f:
        index = yaml.safe_load(f)
    found = sorted(osp.relpath(p, REPO_ROOT)
                   for p in glob.glob(osp.join(REPO_ROOT, 'configs', '*', 'metafile.yml')))
    assert sorted(index['Import']) == found
    for path in index['Import']:
        with open(osp.join(REPO_ROOT, path)) as f:
            meta = yaml.safe_load(f)
        for model in meta.get('Models', []):
            assert osp.isfile(osp.join(REPO_ROOT, model['Config'])), (path, model['Name'])
