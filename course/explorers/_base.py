"""What every explorer shares: a persistent Agg figure shown as a PNG, the widget box that
redraws it when a control moves, grid drawing, and a safe call of the student's function.

An explorer is three parts: a pure *state* function (slider values -> what to draw), a *draw*
function (state -> artists on a persistent figure) and a *caption* (state -> HTML text).
"""
import html
import io
import traceback

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.collections import LineCollection
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.patches import Rectangle

#: Colours shared by every explorer, so that "input", "kernel", "output" look the same everywhere.
COLORS = {
    "input": "#dbe9f6",
    "padding": "#eeeeee",
    "kernel": "#fde2b8",
    "output": "#d9f0d3",
    "window": "#e6550d",
    "highlight": "#fdae6b",
    "unseen": "#f8c9c9",
    "yours": "#e5d8f0",
    "wrong": "#d62728",
    "text": "#222222",
    "muted": "#888888",
}

STYLE = """<style>
.explorer-caption {font-size: 14px; line-height: 1.5; color: #222;}
.explorer-caption code, .explorer-caption .formula {font-family: ui-monospace, Menlo, Consolas,
  monospace; background: #f4f4f4; padding: 1px 4px; border-radius: 3px;}
.explorer-caption .note {color: #8a6d00; background: #fff8e1; padding: 2px 6px; border-radius: 3px;}
.explorer-caption .ok {color: #1a7f37; font-weight: 600;}
.explorer-caption .bad {color: #c62828; font-weight: 600;}
.explorer-caption .impossible {color: #c62828; font-weight: 600; font-size: 15px;}
</style>"""


class Canvas:
    """A matplotlib figure kept for the explorer's whole life and rendered to PNG bytes by Agg."""

    def __init__(self, width, height, dpi=100):
        self.figure = Figure(figsize=(width, height), dpi=dpi)
        FigureCanvasAgg(self.figure)

    def png(self):
        """The figure as PNG bytes (fast, lightly compressed)."""
        buffer = io.BytesIO()
        self.figure.savefig(buffer, format="png", pil_kwargs={"compress_level": 1})
        return buffer.getvalue()


def reset(ax):
    """Remove every artist from ``ax`` (much faster than ``ax.clear()``) and hide its frame."""
    for artist in [*ax.images, *ax.collections, *ax.texts, *ax.patches, *ax.lines, *ax.artists]:
        artist.remove()
    ax.set_title("")
    legend = ax.get_legend()
    if legend is not None:
        legend.remove()


def blank_axes(ax):
    """Prepare ``ax`` for a cell diagram: no ticks, no frame, y growing downwards, square cells."""
    ax.set_axis_off()
    ax.set_aspect("equal")


def draw_grid(ax, shape, x0=0.0, y0=0.0, fill=COLORS["input"], labels=None, fontsize=10,
              label_color=COLORS["text"], linewidth=0.8):
    """Draw an ``(h, w)`` grid of unit cells with its top-left corner at ``(x0, y0)``.

    ``fill`` is one colour or an ``(h, w, 4)`` RGBA array; ``labels`` an ``(h, w)`` nested list
    of strings (or None). Cells are one image and one line collection, so large grids stay cheap.
    """
    h, w = shape
    if h == 0 or w == 0:
        return
    if isinstance(fill, np.ndarray):
        rgba = fill
    else:
        rgba = np.broadcast_to(np.array(to_rgba(fill)), (h, w, 4))
    ax.imshow(rgba, extent=(x0, x0 + w, y0 + h, y0), interpolation="nearest", zorder=1)
    segments = [[(x0, y0 + i), (x0 + w, y0 + i)] for i in range(h + 1)]
    segments += [[(x0 + j, y0), (x0 + j, y0 + h)] for j in range(w + 1)]
    ax.add_collection(LineCollection(segments, colors="#555555", linewidths=linewidth, zorder=2))
    if labels is not None:
        for i, row in enumerate(labels):
            for j, label in enumerate(row):
                if label:
                    ax.text(x0 + j + 0.5, y0 + i + 0.5, label, ha="center", va="center",
                            fontsize=fontsize, color=label_color, zorder=4)


def outline(ax, x, y, w, h, color=COLORS["window"], linewidth=2.5, linestyle="-", fill=None,
            zorder=5):
    """Outline the rectangle with top-left corner ``(x, y)``, width ``w`` and height ``h``."""
    ax.add_patch(Rectangle((x, y), w, h, fill=fill is not None, facecolor=fill, edgecolor=color,
                           linewidth=linewidth, linestyle=linestyle, zorder=zorder))


def number(value):
    """A cell label: integers without a decimal point, others with at most 2 decimals."""
    value = float(value)
    if value != value:
        return "nan"
    if value == int(value) and abs(value) < 1e6:
        return str(int(value))
    return f"{value:.2f}".rstrip("0").rstrip(".")


def labels_of(tensor):
    """The cell labels of a 2-D tensor, as nested lists of strings."""
    return [[number(v) for v in row] for row in tensor.tolist()]


def call_student(function, *args, **kwargs):
    """Run the student's ``function``; return ``(result, note)``, exactly one of them None.

    A missing function (None), a stub that raises ``NotImplementedError`` or any other error gives
    a short HTML note instead of a result, so that the explorer keeps working.
    """
    if function is None:
        return None, "pass your function to the explorer to see your answer next to PyTorch's"
    name = html.escape(getattr(function, "__name__", "your function"))
    try:
        return function(*args, **kwargs), None
    except NotImplementedError:
        return None, f"<code>{name}</code> is still a stub: implement it, run its cell, then run this one again"
    except Exception as error:  # the student's code may fail in any way: say how, don't crash
        return None, f"your <code>{name}</code> raised <code>{html.escape(type(error).__name__)}: {html.escape(str(error))[:200]}</code>"


def draw_yours(ax, x, Y, yours, title):
    """The student's output next to PyTorch's, wrong cells in red; returns the right edge."""
    o_h, o_w = yours.shape
    fill = np.empty((o_h, o_w, 4))
    fill[:] = to_rgba(COLORS["yours"])
    if yours.shape == Y.shape:
        fill[~torch.isclose(yours, Y, atol=1e-4, rtol=1e-4).numpy()] = to_rgba(COLORS["unseen"])
    draw_grid(ax, (o_h, o_w), x0=x, fill=fill, labels=labels_of(yours))
    ax.text(x + o_w / 2, -0.5, title, ha="center", va="bottom", fontsize=12)
    return x + o_w


def compare_outputs(yours, expected):
    """``(tensor or None, html)``: the student's output as a 2-D float tensor, and a verdict.

    Leading dimensions of size 1 are dropped; the tensor is None when there is nothing sensible
    to draw (not a tensor, not 2-D, or too large to write out).
    """
    try:
        yours = torch.as_tensor(yours).detach().float()
    except (TypeError, ValueError, RuntimeError):
        return None, verdict(False, "", f"your function returned a {type(yours).__name__}, "
                                        f"not a tensor")
    while yours.dim() > 2 and yours.shape[0] == 1:
        yours = yours[0]
    if yours.shape != expected.shape:
        drawable = yours.dim() == 2 and yours.numel() <= 100
        return yours if drawable else None, verdict(
            False, "", f"your output has shape {tuple(yours.shape)}, PyTorch's "
                       f"{tuple(expected.shape)}")
    wrong = int((~torch.isclose(yours, expected, atol=1e-4, rtol=1e-4)).sum())
    return yours, verdict(wrong == 0, "your answer matches PyTorch",
                          f"{wrong} cell(s) differ from PyTorch (red)")


def verdict(ok, yes, no):
    """An HTML verdict: a green check with ``yes`` or a red cross with ``no``."""
    return f'<span class="ok">✓ {yes}</span>' if ok else f'<span class="bad">✗ {no}</span>'


def note(text):
    """A short highlighted note in a caption."""
    return f'<span class="note">{text}</span>'


def int_slider(description, value, low, high, **kwargs):
    """An integer slider with the explorers' look (wide enough labels, continuous updates)."""
    return widgets.IntSlider(value=value, min=low, max=high, description=description,
                             style={"description_width": "initial"},
                             layout=widgets.Layout(width="260px"), **kwargs)


class Explorer(widgets.VBox):
    """The widget a chapter shows: controls on top, the figure as a PNG, a caption below.

    ``controls`` maps names to value widgets; on every change ``render(values)`` is called with
    ``{name: widget.value}`` and must return ``(png_bytes, caption_html)``. Any error in
    rendering is shown in the caption instead of disappearing into the kernel log.
    """

    def __init__(self, title, controls, rows, render, intro=""):
        self.controls = controls
        self._render = render
        self.image = widgets.Image(format="png", layout=widgets.Layout(max_width="100%"))
        self.caption = widgets.HTML()
        header = widgets.HTML(f"{STYLE}<div class='explorer-caption'><b style='font-size:16px'>"
                              f"{title}</b><br>{intro}</div>")
        panel = widgets.HBox(rows, layout=widgets.Layout(flex_flow="row wrap", gap="4px 24px"))
        super().__init__([header, panel, self.image, self.caption])
        self.add_class("course-explorer")
        for control in controls.values():
            control.observe(self._on_change, names="value")
        self.refresh()

    def values(self):
        """The current value of every control, by name."""
        return {name: control.value for name, control in self.controls.items()}

    def _on_change(self, change):
        self.refresh()

    def refresh(self):
        """Redraw the figure and the caption for the current control values."""
        try:
            png, caption = self._render(self.values())
        except Exception:  # keep the widget alive and tell the student what happened
            lines = traceback.format_exc().strip().splitlines()[-3:]
            self.caption.value = (f"{STYLE}<div class='explorer-caption'><span class='bad'>"
                                  f"The explorer failed: {html.escape(' '.join(lines))}</span></div>")
            return
        if png is not None:
            self.image.value = png
        self.caption.value = f"{STYLE}<div class='explorer-caption'>{caption}</div>"


def column(title, *children):
    """A titled column of controls."""
    return widgets.VBox([widgets.HTML(f"<b>{title}</b>"), *children])
