"""Chapter 05: max and average pooling (window, stride, padding); where each output came from."""
from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.colors import to_rgba
from torch.nn import functional as F

from course.explorers._base import (COLORS, Canvas, Explorer, Labels, diagram_axes, label, note,
                                    plain)
from course.explorers.controls import SLIDER_STYLE, SLIDER_WIDTH, column, int_slider
from course.explorers.drawing import draw_grid, draw_yours, labels_of, number, outline, reset
from course.explorers.yours import Answer, checked, compare_outputs

#: The inputs a student can pick: the notes' examples and one with negative values.
INPUTS = {
    "the notes' 4×4 (0…15)": torch.arange(16.0).reshape(4, 4),
    "the notes' 3×3 (0…8)": torch.arange(9.0).reshape(3, 3),
    "6×6 with negatives": torch.randint(-9, 10, (6, 6),
                                        generator=torch.Generator().manual_seed(5)).float(),
}


@dataclass(frozen=True)
class PoolingState:
    """One pooling setting: PyTorch's output and the window of the chosen output cell."""
    X: torch.Tensor         # (n_h, n_w) input
    pool_size: tuple        # (p_h, p_w) window
    stride: tuple           # (s_h, s_w)
    padding: tuple          # per side (pad_h, pad_w)
    mode: str               # 'max' or 'avg'
    problem: str            # why PyTorch refuses this setting, or None
    Y: torch.Tensor         # (o_h, o_w) output, None when there is a problem
    sources: tuple          # max: the input cell (row, col) each output came from, row-major
    row: int                # the output cell explained (clamped into the output)
    col: int
    window: tuple           # (top, left) of its window, in padded coordinates

    @property
    def padded_shape(self):
        """The input's shape with the padding added on every side."""
        return (self.X.shape[0] + 2 * self.padding[0], self.X.shape[1] + 2 * self.padding[1])

    def window_values(self):
        """The chosen window's cells row-major: input values, None for padded cells."""
        (top, left), (p_h, p_w), (pad_h, pad_w) = self.window, self.pool_size, self.padding
        n_h, n_w = self.X.shape
        values = []
        for r in range(top - pad_h, top - pad_h + p_h):
            for c in range(left - pad_w, left - pad_w + p_w):
                inside = 0 <= r < n_h and 0 <= c < n_w
                values.append(float(self.X[r, c]) if inside else None)
        return values


def pooling_state(X, pool_size, stride, padding, mode, row=0, col=0):
    """Pool ``X`` by PyTorch (avg: ``count_include_pad=True``); explain cell ``(row, col)``."""
    (n_h, n_w), (p_h, p_w), (s_h, s_w), (pad_h, pad_w) = X.shape, pool_size, stride, padding
    problem = None
    if pad_h > p_h // 2 or pad_w > p_w // 2:
        problem = (f"PyTorch allows padding of at most half the window: {p_h}×{p_w} window, "
                   f"padding ({pad_h}, {pad_w})")
    elif p_h > n_h + 2 * pad_h or p_w > n_w + 2 * pad_w:
        problem = (f"the {p_h}×{p_w} window is larger than the {n_h + 2 * pad_h}×"
                   f"{n_w + 2 * pad_w} padded input")
    args = (tuple(pool_size), tuple(stride), tuple(padding), mode)
    if problem:
        return PoolingState(X, *args, problem, None, (), 0, 0, (0, 0))
    batch = X[None, None]
    sources = ()
    if mode == "max":
        Y, indices = F.max_pool2d(batch, pool_size, stride, padding, return_indices=True)
        sources = tuple(divmod(int(i), n_w) for i in indices.flatten())
    else:
        Y = F.avg_pool2d(batch, pool_size, stride, padding, count_include_pad=True)
    Y = Y[0, 0]
    row = min(max(row, 0), Y.shape[0] - 1)
    col = min(max(col, 0), Y.shape[1] - 1)
    return PoolingState(X, *args, None, Y, sources, row, col, (row * s_h, col * s_w))


def explain(state):
    """The chosen output cell written out, e.g. ``max(5, 6, 9, 10) = 10``."""
    values = state.window_values()
    value = number(state.Y[state.row, state.col])
    if state.mode == "max":
        shown = ", ".join(number(v) for v in values if v is not None)
        text = f"max({shown}) = {value}"
        if None in values:
            text += " (padded cells are never picked)"
        return text
    shown = " + ".join("0" if v is None else number(v) for v in values)
    text = f"({shown}) / {len(values)} = {value}".replace("+ −", "− ")
    if None in values:
        text += " (padded zeros count: count_include_pad=True)"
    return text


def draw_pooling(canvas, ax, state, yours=None):
    """Padded input with values, the chosen window and where its output came from, the output."""
    reset(ax)
    X = state.X
    (n_h, n_w), (pad_h, pad_w), (p_h, p_w) = X.shape, state.padding, state.pool_size
    ph, pw = state.padded_shape
    x_output = pw + 2
    if state.Y is None:
        right, height = pw + 10, ph
    else:
        right, height = x_output + state.Y.shape[1], max(ph, state.Y.shape[0])
        if yours is not None:
            right += 2 + yours.shape[1]
            height = max(height, yours.shape[0])
    unit = canvas.fit(ax, (-0.2, max(right, 14) + 0.2), (height + 0.2, -1.3))
    font = min(12, 0.36 * unit)
    fill = np.empty((ph, pw, 4))
    fill[:] = to_rgba(COLORS["padding"])
    fill[pad_h:pad_h + n_h, pad_w:pad_w + n_w] = to_rgba(COLORS["input"])
    top, left = state.window
    if state.Y is not None:
        inside = np.zeros((ph, pw), dtype=bool)
        inside[pad_h:pad_h + n_h, pad_w:pad_w + n_w] = True
        in_window = np.zeros_like(inside)
        in_window[top:top + p_h, left:left + p_w] = True
        fill[inside & in_window] = to_rgba(COLORS["highlight"])
    labels = [[""] * pw for _ in range(ph)]
    for r, values in enumerate(X.tolist()):
        labels[r + pad_h][pad_w:pad_w + n_w] = [number(v) for v in values]
    draw_grid(ax, (ph, pw), fill=fill, labels=labels, fontsize=font)
    pad_label = "−∞" if state.mode == "max" else "0"
    ax.add_artist(Labels([(c + 0.5, r + 0.5, pad_label) for r in range(ph) for c in range(pw)
                          if not (pad_h <= r < pad_h + n_h and pad_w <= c < pad_w + n_w)],
                         fontsize=0.8 * font, color=COLORS["muted"]))
    outline(ax, pad_w, pad_h, n_w, n_h, color="#3465a4", linewidth=1.5)
    label(ax, pw / 2, -0.4, "input" + (" (padded)" if pad_h or pad_w else ""), ha="center",
            va="bottom", fontsize=12)
    if state.Y is None:
        label(ax, pw + 1, ph / 2, "no output:\n" + state.problem.replace(": ", ":\n", 1),
                va="center", fontsize=11, color=COLORS["wrong"], ha="left")
        return
    outline(ax, left, top, p_w, p_h)
    o_h, o_w = state.Y.shape
    out_fill = np.empty((o_h, o_w, 4))
    out_fill[:] = to_rgba(COLORS["output"])
    out_fill[state.row, state.col] = to_rgba(COLORS["highlight"])
    draw_grid(ax, (o_h, o_w), x0=x_output, fill=out_fill, labels=labels_of(state.Y),
              fontsize=font)
    outline(ax, x_output + state.col, state.row, 1, 1)
    label(ax, x_output + o_w / 2, -0.4, f"{state.mode} pool", ha="center", va="bottom", fontsize=12)
    ring = (0.8 * unit) ** 2
    if state.sources:
        xs = [c + pad_w + 0.5 for _, c in state.sources]
        ys = [r + pad_h + 0.5 for r, _ in state.sources]
        ax.scatter(xs, ys, s=ring, facecolors="none", edgecolors="#756bb1", linewidths=1.2,
                   zorder=6)
        r, c = state.sources[state.row * o_w + state.col]
        start = (c + pad_w + 0.5, r + pad_h + 0.5)
        ax.scatter(*start, s=ring, facecolors="none", edgecolors=COLORS["window"], linewidths=2.5,
                   zorder=7)
    else:
        start = (left + p_w / 2, top + p_h / 2)
    ax.annotate("", xy=(x_output + state.col + 0.5, state.row + 0.5), xytext=start, zorder=8,
                arrowprops={"arrowstyle": "->", "color": COLORS["window"], "lw": 2,
                            "connectionstyle": "arc3,rad=-0.25", "shrinkA": 0.4 * unit,
                            "shrinkB": 0.3 * unit})
    if yours is not None:
        draw_yours(ax, x_output + o_w + 2, state.Y, yours, "yours", font)


def pooling_description(state, verdict_text=""):
    """The picture in words (its text alternative)."""
    n_h, n_w = state.X.shape
    (p_h, p_w), (pad_h, pad_w) = state.pool_size, state.padding
    text = (f"A {n_h}×{n_w} input" + (f" padded by ({pad_h}, {pad_w})" if pad_h or pad_w else "")
            + f", a {p_h}×{p_w} {state.mode} pooling window with stride {state.stride}.")
    if state.Y is None:
        return f"{text} No output: {state.problem}."
    top, left = state.window
    return (f"{text} The window at padded rows {top} to {top + p_h - 1}, columns {left} to "
            f"{left + p_w - 1} is highlighted and an arrow leads to output "
            f"Y[{state.row}, {state.col}] = {explain(state)}, in the "
            f"{state.Y.shape[0]}×{state.Y.shape[1]} output."
            + (f" {verdict_text}" if verdict_text else ""))


def pooling_explorer(pool2d_pad_stride=None):
    """Window, stride, padding, max/avg and the output cell to explain.

    Without ``pool2d_pad_stride`` it checks the notebook's current one at every redraw."""
    answer = Answer("pool2d_pad_stride", pool2d_pad_stride)
    controls = {
        "input": widgets.Dropdown(options=list(INPUTS), value="the notes' 4×4 (0…15)",
                                  description="input", style=SLIDER_STYLE,
                                  layout=widgets.Layout(width=SLIDER_WIDTH)),
        "mode": widgets.ToggleButtons(options=["max", "avg"], value="max", description="pooling",
                                      tooltips=["max pooling", "average pooling"],
                                      style={"button_width": "60px", **SLIDER_STYLE}),
        "p_h": int_slider("window p_h", 3, 1, 4), "p_w": int_slider("window p_w", 3, 1, 4),
        "s_h": int_slider("stride s_h", 2, 1, 4), "s_w": int_slider("stride s_w", 2, 1, 4),
        "pad_h": int_slider("padding (h)", 1, 0, 2), "pad_w": int_slider("padding (w)", 1, 0, 2),
        "row": int_slider("output row", 0, 0, 1), "col": int_slider("output column", 0, 0, 1),
    }
    canvas = Canvas(9.6, 3.8)
    ax = diagram_axes(canvas)
    cache = {}

    def student_output(state):
        key = (id(state.X), state.pool_size, state.stride, state.padding, state.mode,
               answer.lookup()[0])
        if key not in cache:
            call = answer.call(state.X.clone(), state.pool_size, stride=state.stride,
                               padding=state.padding, mode=state.mode)
            cache.clear()
            yours, message = ((None, note(call.note)) if call.note is not None
                              else compare_outputs(call.result, state.Y, call.library))
            cache[key] = yours, message + checked(call)
        return cache[key]

    def render(v):
        state = pooling_state(INPUTS[v["input"]], (v["p_h"], v["p_w"]), (v["s_h"], v["s_w"]),
                              (v["pad_h"], v["pad_w"]), v["mode"], v["row"], v["col"])
        yours, message = None, ""
        if state.Y is None:
            caption = f"<span class='impossible'>✗ No output: {state.problem}.</span>"
        else:
            for name, high in (("row", state.Y.shape[0] - 1), ("col", state.Y.shape[1] - 1)):
                if controls[name].max != high:
                    controls[name].max = high
            yours, message = student_output(state)
            caption = (f"<b>Y[{state.row}, {state.col}]</b> = <span class='formula'>"
                       f"{explain(state)}</span>. Output shape {tuple(state.Y.shape)}."
                       f"<br>{message}")
        draw_pooling(canvas, ax, state, yours)
        return canvas.png(), caption, pooling_description(state, plain(message))

    rows = [column("input and mode", controls["input"], controls["mode"], controls["row"],
                   controls["col"]),
            column("window and stride", controls["p_h"], controls["p_w"], controls["s_h"],
                   controls["s_w"]),
            column("padding", controls["pad_h"], controls["pad_w"])]
    return Explorer("Pooling: max and average", controls, rows, render,
                    intro="Each output is the max (or mean) of its window. Circles mark the "
                          "input cell each max came from.", answers=[answer])
