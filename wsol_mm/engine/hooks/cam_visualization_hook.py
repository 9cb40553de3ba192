"""Draw CAM overlays with GT and predicted boxes during validation/testing."""
import os.path as osp
from typing import Optional, Sequence

import mmcv
from mmengine.hooks import Hook
from mmengine.visualization import Visualizer

from wsol_mm.registry import HOOKS
from wsol_mm.structures import WSOLDataSample


@HOOKS.register_module()
class CAMVisualizationHook(Hook):
    """Save CAM overlays of every ``interval``-th sample.

    Args:
        enable (bool): draw at all. Defaults to False (``test.py --show-dir`` enables it).
        interval (int): draw one sample every ``interval`` samples. Defaults to 1.
        cam_thr (float): CAM threshold of the drawn predicted box. Defaults to 0.2.
        out_dir (str, optional): folder for PNGs (relative to the run's log dir);
            without it images go to the visualizer's backends.
        show (bool): open a window. Defaults to False.
        max_images (int): at most this many images per run. Defaults to 64.
    """

    priority = 'LOW'

    def __init__(self, enable: bool = False, interval: int = 1, cam_thr: float = 0.2,
                 out_dir: Optional[str] = None, show: bool = False,
                 max_images: int = 64) -> None:
        self.enable = enable
        self.interval = max(1, interval)
        self.cam_thr = cam_thr
        self.out_dir = out_dir
        self.show = show
        self.max_images = max_images
        self._seen = 0
        self._drawn = 0

    def _draw(self, runner, outputs: Sequence[WSOLDataSample], mode: str) -> None:
        if not self.enable:
            return
        visualizer = Visualizer.get_current_instance()
        for sample in outputs:
            self._seen += 1
            if (self._seen - 1) % self.interval or self._drawn >= self.max_images:
                continue
            img = mmcv.imread(sample.img_path, channel_order='rgb')
            img = mmcv.imresize(img, tuple(sample.img_shape[::-1]))
            name = osp.splitext(sample.get('img_id', osp.basename(sample.img_path)))[0]
            out_file = None
            if self.out_dir is not None:
                out_file = osp.join(runner.log_dir, self.out_dir, name.replace('/', '_') + '.png')
            visualizer.add_datasample(f'{mode}_{name}', img, sample, show=self.show,
                                      out_file=out_file, cam_thr=self.cam_thr,
                                      step=runner.iter)
            self._drawn += 1

    def before_val(self, runner) -> None:
        self._seen = self._drawn = 0

    def before_test(self, runner) -> None:
        self._seen = self._drawn = 0

    def after_val_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._draw(runner, outputs, 'val')

    def after_test_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._draw(runner, outputs, 'test')
