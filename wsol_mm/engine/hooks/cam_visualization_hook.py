"""Draw CAM figures of chosen validation/test images (``tools/test.py --show-dir``)."""
import math
import os.path as osp
from typing import Optional, Sequence

import mmcv
from mmengine.dist import is_main_process
from mmengine.hooks import Hook
from mmengine.visualization import Visualizer

from wsol_mm.registry import HOOKS
from wsol_mm.structures import WSOLDataSample


@HOOKS.register_module()
class CAMVisualizationHook(Hook):
    """Save the CAM figure (see :class:`WSOLVisualizer`) of a subset of the evaluated images.

    The images drawn are those whose dataset index (``sample_idx``) is a multiple
    of ``interval``, the first ``max_images`` of them: the same images whatever
    the batch size or number of processes (each process draws its own). The
    choice is logged when evaluation starts.

    Args:
        enable (bool): draw at all. Defaults to False (``test.py --show-dir`` enables it).
        interval (int): draw every ``interval``-th image of the dataset. Defaults to 1.
        max_images (int, optional): draw at most this many; all selected images
            when None. Defaults to None.
        cam_thr (float): CAM threshold of the drawn predicted box. Defaults to 0.2.
        topk (int): add the maps of the top-k predicted classes. Defaults to 0.
        out_dir (str, optional): folder for PNGs, relative to the run's log dir
            (validation figures go to ``out_dir/epoch_<n>``); without it the
            figures go to the visualizer's backends (e.g. TensorBoard).
        show (bool): open a window. Defaults to False.
        wait_time (float): seconds a window stays open. Defaults to 0.
    """

    priority = 'LOW'

    def __init__(self, enable: bool = False, interval: int = 1,
                 max_images: Optional[int] = None, cam_thr: float = 0.2, topk: int = 0,
                 out_dir: Optional[str] = None, show: bool = False,
                 wait_time: float = 0) -> None:
        if interval < 1:
            raise ValueError(f'CAMVisualizationHook: interval must be >= 1, got {interval}')
        if max_images is not None and max_images < 0:
            raise ValueError(f'CAMVisualizationHook: max_images must be >= 0, got {max_images}')
        self.enable = enable
        self.interval = interval
        self.max_images = max_images
        self.cam_thr = cam_thr
        self.topk = topk
        self.out_dir = out_dir
        self.show = show
        self.wait_time = wait_time
        self._seen = 0
        self._folder: Optional[str] = None

    def _selected(self, index: int) -> bool:
        if index % self.interval:
            return False
        return self.max_images is None or index // self.interval < self.max_images

    def _start(self, runner, dataloader, mode: str) -> None:
        self._seen = 0
        if not self.enable:
            return
        dataset = dataloader.dataset
        Visualizer.get_current_instance().dataset_meta = dict(getattr(dataset, 'metainfo', {}))
        folder = None
        if self.out_dir is not None:
            folder = osp.join(runner.log_dir, self.out_dir)
            if mode == 'val':
                folder = osp.join(folder, f'epoch_{runner.epoch}')
        self._folder = folder
        total = len(dataset)
        count = math.ceil(total / self.interval)
        if self.max_images is not None:
            count = min(count, self.max_images)
        where = folder or 'the visualizer backends'
        cap = 'no cap' if self.max_images is None else f'max_images={self.max_images}'
        runner.logger.info(f'CAMVisualizationHook: drawing {count} of {total} {mode} images '
                           f'(every {self.interval}, {cap}; test.py --interval / '
                           f'--show-max) to {where}')

    def _draw(self, runner, outputs: Sequence[WSOLDataSample], mode: str) -> None:
        if not self.enable:
            return
        visualizer = Visualizer.get_current_instance()
        for sample in outputs:
            index = sample.metainfo.get('sample_idx', self._seen)
            self._seen += 1
            if not self._selected(int(index)):
                continue
            if self._folder is None and not is_main_process():
                continue  # the backends only live on rank 0
            img = mmcv.imread(sample.img_path, channel_order='rgb')
            name = osp.splitext(sample.get('img_id') or osp.basename(sample.img_path))[0]
            out_file = None
            if self._folder is not None:
                out_file = osp.join(self._folder, name.replace('/', '_') + '.png')
            visualizer.add_datasample(f'{mode}_{name}', img, sample, show=self.show,
                                      wait_time=self.wait_time, out_file=out_file,
                                      cam_thr=self.cam_thr, topk=self.topk, step=runner.iter,
                                      img_name=sample.get('img_id') or name)

    # before_val/test, not *_epoch: the line must come before the progress bar starts
    def before_val(self, runner) -> None:
        self._start(runner, runner.val_dataloader, 'val')

    def before_test(self, runner) -> None:
        self._start(runner, runner.test_dataloader, 'test')

    def after_val_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._draw(runner, outputs, 'val')

    def after_test_iter(self, runner, batch_idx: int, data_batch=None, outputs=None) -> None:
        self._draw(runner, outputs, 'test')
