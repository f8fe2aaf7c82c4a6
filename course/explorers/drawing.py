"""Cell diagrams drawn on an explorer's persistent figure: grids of numbered cells, window
outlines, and the student's output beside PyTorch's."""
import math

import numpy as np
import torch
from matplotlib.collections import PolyCollection
from matplotlib.colors import to_rgba
from matplotlib.patches import Rectangle

from course.explorers._base import COLORS, Labels, dynamic_artists, label


def reset(ax):
    """Remove this update's artists from ``ax`` (much faster than ``ax.clear()``)."""
    for artist in dynamic_artists(ax):
        artist.remove()


def draw_grid(ax, shape, x0=0.0, y0=0.0, fill=COLORS["input"], labels=None, fontsize=10,
              label_color=COLORS["text"], linewidth=0.8):
    """Draw an ``(h, w)`` grid of unit cells with its top-left corner at ``(x0, y0)``.

    ``fill`` is one colour or an ``(h, w, 4)`` RGBA array; ``labels`` an ``(h, w)`` nested list
    of strings (or None). The cells are one polygon collection, so large grids stay cheap.
    """
    h, w = shape
    if h == 0 or w == 0:
        return
    colors = fill.reshape(h * w, 4) if isinstance(fill, np.ndarray) else fill
    corners = np.array([(0, 0), (1, 0), (1, 1), (0, 1)], dtype=float)
    rows, cols = np.mgrid[0:h, 0:w]
    origins = np.stack([x0 + cols.ravel(), y0 + rows.ravel()], axis=1)
    cells = origins[:, None, :] + corners[None, :, :]
    ax.add_collection(PolyCollection(cells, facecolors=colors, edgecolors="#555555",
                                     linewidths=linewidth, zorder=2), autolim=False)
    if labels is not None:
        items = [(x0 + j + 0.5, y0 + i + 0.5, text) for i, row in enumerate(labels)
                 for j, text in enumerate(row) if text]
        ax.add_artist(Labels(items, fontsize=fontsize, color=label_color, max_width=0.9))


def outline(ax, x, y, w, h, color=COLORS["window"], linewidth=2.5, linestyle="-", fill=None,
            zorder=5):
    """Outline the rectangle with top-left corner ``(x, y)``, width ``w`` and height ``h``."""
    ax.add_artist(Rectangle((x, y), w, h, fill=fill is not None, facecolor=fill, edgecolor=color,
                           linewidth=linewidth, linestyle=linestyle, zorder=zorder))


def number(value):
    """A cell label: integers without a decimal point, others with at most 2 decimals, and a
    true minus sign (−)."""
    value = float(value)
    if not math.isfinite(value):
        return {math.inf: "∞", -math.inf: "−∞"}.get(value, "nan")
    if value == int(value) and abs(value) < 1e6:
        text = str(int(value))
    else:
        text = f"{value:.3g}" if abs(value) >= 1e6 else f"{value:.2f}".rstrip("0").rstrip(".")
    return text.replace("-", "−")


def labels_of(tensor):
    """The cell labels of a 2-D tensor, as nested lists of strings."""
    return [[number(v) for v in row] for row in tensor.tolist()]


def hatch(ax, marked, x0=0.0, y0=0.0):
    """Hatch the cells where the ``(h, w)`` bool array ``marked`` is True: wrong or unseen cells
    are told by this pattern, not by their colour alone."""
    rows, cols = np.nonzero(marked)
    if not len(rows):
        return
    corners = np.array([(0, 0), (1, 0), (1, 1), (0, 1)], dtype=float)
    cells = np.stack([x0 + cols, y0 + rows], axis=1)[:, None, :] + corners[None, :, :]
    ax.add_collection(PolyCollection(cells, facecolors="none", edgecolors=COLORS["wrong"],
                                     hatch="///", linewidths=1.2, zorder=3), autolim=False)


def draw_yours(ax, x, Y, yours, title, fontsize=10):
    """The student's output with its top-left corner at ``(x, 0)``, cells unlike ``Y`` hatched
    in red."""
    o_h, o_w = yours.shape
    fill = np.empty((o_h, o_w, 4))
    fill[:] = to_rgba(COLORS["yours"])
    if yours.shape == Y.shape:
        wrong = ~torch.isclose(yours, Y, atol=1e-4, rtol=1e-4).numpy()
        fill[wrong] = to_rgba(COLORS["unseen"])
        hatch(ax, wrong, x0=x)
    draw_grid(ax, (o_h, o_w), x0=x, fill=fill, labels=labels_of(yours), fontsize=fontsize)
    label(ax, x + o_w / 2, -0.3, title, fontsize=12, va="bottom")
