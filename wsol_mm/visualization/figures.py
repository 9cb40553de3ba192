"""Matplotlib building blocks shared by every wsol_mm figure (headless, Agg canvas)."""
from typing import Optional, Sequence, Tuple

import numpy as np
from matplotlib import patheffects
from matplotlib.axes import Axes
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.lines import Line2D
from matplotlib.patches import Rectangle

#: box colours: ground truth and prediction differ in hue and in line style
GT_COLOR = '#00e040'
PRED_COLOR = '#ff2bd6'
MASK_COLOR = (0.15, 0.55, 1.0)
CAM_CMAP = 'jet'
_OUTLINE = [patheffects.withStroke(linewidth=4.5, foreground='black')]


def new_figure(width: float, height: float, dpi: int = 100) -> Figure:
    """A figure on an Agg canvas (no GUI backend, thread-safe)."""
    fig = Figure(figsize=(width, height), dpi=dpi)
    FigureCanvasAgg(fig)
    return fig


def figure_to_rgb(fig: Figure) -> np.ndarray:
    """Render ``fig`` and return its pixels as an RGB uint8 array."""
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba())[..., :3].copy()


def class_name(label: Optional[int], classes: Optional[Sequence[str]]) -> str:
    """``'name (3)'`` from the dataset's ``classes``; ``'class 3'`` without names."""
    if label is None:
        return '-'
    if classes and 0 <= label < len(classes):
        return f'{classes[label]} ({label})'
    return f'class {label}'


def draw_boxes(ax: Axes, boxes: np.ndarray, color: str, dashed: bool = False,
               linewidth: float = 2.5) -> None:
    """Inclusive ``xyxy`` pixel boxes drawn on their pixel edges, outlined in black."""
    for x0, y0, x1, y1 in np.asarray(boxes, np.float64).reshape(-1, 4):
        rect = Rectangle((x0 - 0.5, y0 - 0.5), x1 - x0 + 1, y1 - y0 + 1, fill=False,
                         edgecolor=color, linewidth=linewidth,
                         linestyle=(0, (4, 2)) if dashed else '-')
        rect.set_path_effects(_OUTLINE)
        ax.add_patch(rect)


def box_legend(ax: Axes, entries: Sequence[Tuple[str, str, bool]], fontsize: float = 10,
               below: bool = True) -> None:
    """Legend of ``(label, colour, dashed)`` box entries, under the axes (never on the image).

    Args:
        ax (Axes): the axes the boxes are drawn in.
        entries (Sequence[tuple]): ``(label, colour, dashed)`` per entry.
        fontsize (float): text size. Defaults to 10.
        below (bool): outside, under the axes; inside the upper left corner otherwise.
    """
    handles = [Line2D([], [], color=c, linewidth=2.5, linestyle=(0, (4, 2)) if d else '-',
                      label=label, path_effects=_OUTLINE) for label, c, d in entries]
    where = dict(loc='upper center', bbox_to_anchor=(0.5, -0.02), ncol=len(handles)) \
        if below else dict(loc='upper left')
    ax.legend(handles=handles, fontsize=fontsize, framealpha=0.9, borderpad=0.4,
              handlelength=2.4, **where)


def show_image(ax: Axes, image: np.ndarray, title: Optional[str] = None,
               fontsize: float = 11) -> None:
    """An RGB image without ticks, pixel centres on integer coordinates."""
    ax.imshow(image, interpolation='antialiased')
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=fontsize)


def overlay(image: np.ndarray, cam: np.ndarray, alpha: float = 0.5,
            cmap: str = CAM_CMAP) -> np.ndarray:
    """``image`` blended with the colour-mapped ``cam`` (both at the same size)."""
    from matplotlib import colormaps
    heat = colormaps[cmap](np.clip(cam, 0, 1))[..., :3]
    return ((1 - alpha) * image.astype(np.float32) / 255.0 + alpha * heat).clip(0, 1)


def show_cam(ax: Axes, cam: np.ndarray, title: Optional[str] = None,
             colorbar: bool = True, fontsize: float = 11) -> None:
    """The map alone on a fixed [0, 1] colour scale, with a colour bar."""
    im = ax.imshow(cam, cmap=CAM_CMAP, vmin=0, vmax=1, interpolation='bilinear')
    ax.set_xticks([])
    ax.set_yticks([])
    if title:
        ax.set_title(title, fontsize=fontsize)
    if colorbar:
        bar = ax.figure.colorbar(im, ax=ax, fraction=0.046, pad=0.03)
        bar.ax.tick_params(labelsize=9)


def draw_mask(ax: Axes, mask: np.ndarray, color: Tuple[float, float, float] = MASK_COLOR,
              alpha: float = 0.45) -> None:
    """A boolean mask as a translucent colour layer with its outline."""
    mask = np.asarray(mask) > 0
    layer = np.zeros(mask.shape + (4, ), np.float32)
    layer[mask] = (*color, alpha)
    ax.imshow(layer, interpolation='nearest')
    if mask.any() and not mask.all():
        ax.contour(mask.astype(np.float32), levels=[0.5], colors=[color], linewidths=1.5)
