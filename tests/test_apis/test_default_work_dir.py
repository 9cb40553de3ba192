"""Default work dirs do not collide across method folders with the same config names."""
import os.path as osp

from wsol_mm.apis.runner_utils import default_work_dir

REPO = osp.dirname(osp.dirname(osp.dirname(osp.abspath(__file__))))


def test_default_work_dir_keeps_the_method_folder(tmp_path):
    cam = default_work_dir(osp.join(REPO, 'configs', 'cam', 'resnet50_cub.py'))
    has = default_work_dir('configs/has/resnet50_cub.py')
    assert cam == osp.join('./work_dirs', 'cam', 'resnet50_cub')
    assert has == osp.join('./work_dirs', 'has', 'resnet50_cub') != cam
    # a user's config outside configs/: its own name
    assert default_work_dir(str(tmp_path / 'mine.py')) == osp.join('./work_dirs', 'mine')
