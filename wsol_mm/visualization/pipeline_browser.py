"""What the data pipeline feeds the model: image, boxes and masks after every step."""
import copy
from typing import List, Optional, Sequence, Tuple

import numpy as np

from .figures import (
    GT_COLOR,
    box_legend,
    class_name,
    draw_boxes,
    draw_mask,
    figure_to_rgb,
    new_figure,
    show_image,
)

__all__ = ['pipeline_steps', 'draw_pipeline']


def _snapshot(results: dict) -> dict:
    """Image (RGB), boxes and masks of a pipeline state, packed or not."""
    if 'inputs' in results:  # after PackWSOLInputs
        sample = results['data_samples']
        image = results['inputs'].permute(1, 2, 0).numpy()[..., ::-1]
        masks = {k: sample.get(k).numpy() for k in ('gt_mask', 'ignore_mask')
                 if sample.get(k) is not None}
        boxes = sample.gt_bboxes.numpy() if sample.gt_bboxes is not None else None
        label = sample.get('gt_label')
        label = None if label is None else int(label[0])
    else:
        image = results['img'][..., ::-1]
        masks = {k: results[k] for k in ('gt_mask', 'ignore_mask') if results.get(k) is not None}
        boxes = results.get('gt_bboxes')
        label = results.get('gt_label')
    return dict(image=np.ascontiguousarray(image), masks=masks,
                boxes=None if boxes is None else np.asarray(boxes).reshape(-1, 4), label=label)


def pipeline_steps(dataset, index: int) -> List[Tuple[str, dict]]:
    """Run the dataset's pipeline on one image, keeping the state after every transform.

    Args:
        dataset: a built dataset with a ``pipeline`` (``Compose``).
        index (int): the image's index.

    Returns:
        list[tuple]: ``(transform name, snapshot)`` per step, where a snapshot has
        ``image`` (RGB), ``boxes``, ``masks`` and ``label``.
    """
    results = copy.deepcopy(dataset.get_data_info(index))
    steps = []
    for transform in dataset.pipeline.transforms:
        results = transform(results)
        if results is None:
            raise ValueError(f'{type(transform).__name__} dropped image {index}')
        if 'img' in results or 'inputs' in results:
            steps.append((type(transform).__name__, _snapshot(results)))
    return steps


def draw_pipeline(steps: Sequence[Tuple[str, dict]], title: str = '',
                  classes: Optional[Sequence[str]] = None, columns: int = 5) -> np.ndarray:
    """Panels of the pipeline states (row-major), GT boxes in green, masks in blue.

    Args:
        steps (Sequence[tuple]): output of :func:`pipeline_steps`.
        title (str): figure title (the image id).
        classes (Sequence[str], optional): class names for the label.
        columns (int): panels per row. Defaults to 5.

    Returns:
        np.ndarray: the RGB figure.
    """
    cols = min(columns, len(steps))
    rows = -(-len(steps) // cols)
    fig = new_figure(3.4 * cols + 0.3, 3.7 * rows + 0.9)
    has_mask = False
    for i, (name, snap) in enumerate(steps):
        ax = fig.add_subplot(rows, cols, i + 1)
        h, w = snap['image'].shape[:2]
        show_image(ax, snap['image'], f'{i + 1}. {name}\n{w}x{h}', fontsize=10)
        for key, mask in snap['masks'].items():
            has_mask = True
            draw_mask(ax, mask, (0.6, 0.6, 0.6) if key == 'ignore_mask' else
                      (0.15, 0.55, 1.0))
        if snap['boxes'] is not None:
            draw_boxes(ax, snap['boxes'], GT_COLOR, linewidth=2)
    label = steps[-1][1]['label'] if steps else None
    head = f'{title}   label {class_name(label, classes)}' if label is not None else title
    fig.suptitle(head + ('   (blue: GT mask, grey: ignore mask)' if has_mask else ''),
                 fontsize=12)
    if any(snap['boxes'] is not None for _, snap in steps):
        box_legend(fig.axes[-1], [('GT box', GT_COLOR, False)], below=True)
    fig.tight_layout(rect=(0, 0.03, 1, 0.97))
    return figure_to_rgb(fig)
