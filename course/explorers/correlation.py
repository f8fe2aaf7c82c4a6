"""Chapter 02: slide a kernel over an input (cross-correlation); learn the notes' edge kernel."""
import math
import re
from dataclasses import dataclass

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.colors import to_rgba
from torch.nn import functional as F

from course.explorers._base import COLORS, Canvas, Explorer, diagram_axes, label, note, plain
from course.explorers.controls import SLIDER_STYLE, SLIDER_WIDTH, column, int_slider
from course.explorers.drawing import draw_grid, draw_yours, labels_of, number, outline, reset
from course.explorers.yours import Answer, checked, compare_outputs


def stripe_image():
    """The notes' 6x8 image: ones with a vertical stripe of zeros in columns 2-5."""
    X = torch.ones(6, 8)
    X[:, 2:6] = 0
    return X


def _square():
    X = torch.zeros(7, 7)
    X[2:5, 1:5] = 1
    return X


#: The inputs a student can pick: the notes' examples and a small picture with edges both ways.
INPUTS = {
    "the notes' X (3×3)": torch.arange(9.0).reshape(3, 3),
    "the notes' stripe (6×8)": stripe_image(),
    "a bright square (7×7)": _square(),
}
#: The kernels a student can pick; "your own" is read from a text box.
KERNELS = {
    "the notes' K": torch.tensor([[0.0, 1.0], [2.0, 3.0]]),
    "edge [1, −1]": torch.tensor([[1.0, -1.0]]),
    "edge [1; −1] (its transpose)": torch.tensor([[1.0], [-1.0]]),
    "blur (3×3 mean)": torch.full((3, 3), 1 / 9),
    "your own": None,
}


def parse_kernel(text):
    """A kernel typed as rows separated by ';' and numbers by ',' or spaces, e.g. "1, 0; 0, -1".

    Raises ValueError with a friendly message for ragged rows or anything that is not a number.
    """
    rows = [row for row in re.split(r"[;\n]", text) if row.strip()]
    if not rows:
        raise ValueError("type at least one number")
    values = []
    for row in rows:
        try:
            values.append([float(x) for x in re.split(r"[,\s]+", row.strip()) if x])
        except ValueError:
            raise ValueError(f"'{row.strip()}' is not a row of numbers") from None
    if len({len(row) for row in values}) != 1:
        raise ValueError("every row needs the same number of entries")
    if len(values) > 5 or len(values[0]) > 5:
        raise ValueError("keep your kernel at most 5×5")
    return torch.tensor(values)


@dataclass(frozen=True)
class CorrelationState:
    """One step of sliding the kernel: the window at output cell (row, col) and its products."""
    X: torch.Tensor         # (n_h, n_w) input
    K: torch.Tensor         # (k_h, k_w) kernel
    Y: torch.Tensor         # (n_h - k_h + 1, n_w - k_w + 1) PyTorch's output; None: K too big
    row: int                # output cell shown (clamped into the output)
    col: int
    products: tuple         # (x, k) pairs of the window, row-major
    value: float            # sum of the products, = Y[row, col]


def correlation_state(X, K, row, col):
    """The output of ``X`` ⋆ ``K`` (by ``F.conv2d``) and the window of cell ``(row, col)``."""
    (n_h, n_w), (k_h, k_w) = X.shape, K.shape
    if k_h > n_h or k_w > n_w:
        return CorrelationState(X, K, None, 0, 0, (), math.nan)
    Y = F.conv2d(X[None, None], K[None, None])[0, 0]
    row = min(max(row, 0), Y.shape[0] - 1)
    col = min(max(col, 0), Y.shape[1] - 1)
    window = X[row:row + k_h, col:col + k_w]
    products = tuple(zip(window.flatten().tolist(), K.flatten().tolist()))
    return CorrelationState(X, K, Y, row, col, products, float(Y[row, col]))


def sum_of_products(state):
    """The output cell written out: ``0·0 + 1·1 + 3·2 + 4·3 = 19``, ``1·1 + 0·(−1) = 1``."""
    def factor(k):
        text = number(k)
        return f"({text})" if text.startswith("−") else text

    terms = " + ".join(f"{number(x)}·{factor(k)}" for x, k in state.products)
    return f"{terms} = {number(state.value)}".replace("+ −", "− ")


def draw_correlation(canvas, ax, state, yours=None):
    """Input ⋆ kernel = output in one row; the window and the output cell highlighted.

    ``yours`` is the student's output, drawn on the right when it is a 2-D tensor.
    """
    reset(ax)
    X, K, Y = state.X, state.K, state.Y
    (n_h, n_w), (k_h, k_w) = X.shape, K.shape
    x_kernel = n_w + 1.8
    x_output = x_kernel + k_w + 1.8
    right = x_output + (Y.shape[1] if Y is not None else 6)
    if yours is not None:
        right += 2 + yours.shape[1]
    height = max(n_h, k_h, *(yours.shape if yours is not None else ()))
    unit = canvas.fit(ax, (-0.2, max(right, 14) + 0.2), (height + 0.2, -1.3))
    font = min(12, 0.36 * unit)
    x_fill = np.empty((n_h, n_w, 4))
    x_fill[:] = to_rgba(COLORS["input"])
    if Y is not None:
        x_fill[state.row:state.row + k_h, state.col:state.col + k_w] = to_rgba(COLORS["highlight"])
    draw_grid(ax, (n_h, n_w), fill=x_fill, labels=labels_of(X), fontsize=font)
    label(ax, n_w / 2, -0.4, "input X", ha="center", va="bottom", fontsize=12)
    label(ax, x_kernel - 0.9, n_h / 2, "⋆", ha="center", va="center", fontsize=24)
    draw_grid(ax, (k_h, k_w), x0=x_kernel, fill=COLORS["kernel"], labels=labels_of(K),
              fontsize=font)
    label(ax, x_kernel + k_w / 2, -0.4, "kernel K", ha="center", va="bottom", fontsize=12)
    label(ax, x_output - 0.9, n_h / 2, "=", ha="center", va="center", fontsize=24)
    if Y is None:
        outline(ax, 0, 0, k_w, k_h, color=COLORS["wrong"], linestyle="--")
        label(ax, x_output, n_h / 2, "the kernel does not fit:\nno output", va="center",
                fontsize=12, color=COLORS["wrong"], ha="left")
        return
    outline(ax, state.col, state.row, k_w, k_h)
    o_h, o_w = Y.shape
    done = np.arange(o_h * o_w).reshape(o_h, o_w) <= state.row * o_w + state.col
    y_fill = np.empty((o_h, o_w, 4))
    y_fill[:] = to_rgba(COLORS["padding"])
    y_fill[done] = to_rgba(COLORS["output"])
    y_fill[state.row, state.col] = to_rgba(COLORS["highlight"])
    labels = [[number(v) if done[i, j] else "" for j, v in enumerate(r)]
              for i, r in enumerate(Y.tolist())]
    draw_grid(ax, (o_h, o_w), x0=x_output, fill=y_fill, labels=labels, fontsize=font)
    outline(ax, x_output + state.col, state.row, 1, 1)
    label(ax, x_output + o_w / 2, -0.4, "output Y", ha="center", va="bottom", fontsize=12)
    if yours is not None:
        draw_yours(ax, x_output + o_w + 2, Y, yours, "your corr2d", font)


def correlation_description(state, verdict_text=""):
    """The picture in words (its text alternative): the window, its products and the output."""
    (n_h, n_w), (k_h, k_w) = state.X.shape, state.K.shape
    if state.Y is None:
        return (f"A {n_h}×{n_w} input and a {k_h}×{k_w} kernel that does not fit in it: "
                f"no output.")
    o_h, o_w = state.Y.shape
    return (f"A {n_h}×{n_w} input, a {k_h}×{k_w} kernel and the {o_h}×{o_w} output. The "
            f"window at input rows {state.row} to {state.row + k_h - 1}, columns {state.col} to "
            f"{state.col + k_w - 1} is highlighted; it gives output Y[{state.row}, {state.col}] "
            f"= {sum_of_products(state)}. The output is filled in up to that cell."
            + (f" {verdict_text}" if verdict_text else ""))


def correlation_explorer(corr2d=None):
    """Move the kernel over the input with row and column sliders; pick the input and kernel.

    Without ``corr2d`` it checks the notebook's current ``corr2d`` at every redraw."""
    answer = Answer("corr2d", corr2d)
    controls = {
        "input": widgets.Dropdown(options=list(INPUTS), value="the notes' X (3×3)",
                                  description="input", style=SLIDER_STYLE,
                                  layout=widgets.Layout(width=SLIDER_WIDTH)),
        "kernel": widgets.Dropdown(options=list(KERNELS), value="the notes' K",
                                   description="kernel", style=SLIDER_STYLE,
                                   layout=widgets.Layout(width=SLIDER_WIDTH)),
        "own": widgets.Text(value="1, 0, -1; 1, 0, -1", description="your own kernel",
                            placeholder="rows split by ;", continuous_update=False,
                            style=SLIDER_STYLE, layout=widgets.Layout(width=SLIDER_WIDTH)),
        "row": int_slider("output row", 0, 0, 1),
        "col": int_slider("output column", 0, 0, 1),
    }
    canvas = Canvas(9.6, 3.4)
    ax = diagram_axes(canvas)
    cache = {}

    def student_output(X, K, Y):
        """``(tensor or None, html)``: the student's corr2d on (X, K), once per pair and
        definition."""
        key = (X.numpy().tobytes(), K.numpy().tobytes(), tuple(K.shape), answer.lookup()[0])
        if key not in cache:
            call = answer.call(X.clone(), K.clone())
            cache.clear()
            yours, message = ((None, note(call.note)) if call.note is not None
                              else compare_outputs(call.result, Y, call.library))
            cache[key] = yours, message + checked(call)
        return cache[key]

    def render(v):
        X = INPUTS[v["input"]]
        K = KERNELS[v["kernel"]]
        own = K is None
        controls["own"].disabled = not own
        if own:
            try:
                K = parse_kernel(v["own"])
            except ValueError as error:
                return None, note(f"your own kernel: {error}"), f"your own kernel: {error}"
        state = correlation_state(X, K, v["row"], v["col"])
        yours = None
        message = ""
        if state.Y is None:
            caption = (f"<span class='impossible'>✗ The {K.shape[0]}×{K.shape[1]} kernel is "
                       f"larger than the {X.shape[0]}×{X.shape[1]} input: no position fits."
                       f"</span>")
        else:
            _fit_slider(controls["row"], state.Y.shape[0] - 1)
            _fit_slider(controls["col"], state.Y.shape[1] - 1)
            yours, message = student_output(X, K, state.Y)
            caption = (f"<b>Y[{state.row}, {state.col}]</b> = window × kernel, summed = "
                       f"<span class='formula'>{sum_of_products(state)}</span><br>{message}")
        draw_correlation(canvas, ax, state, yours)
        return canvas.png(), caption, correlation_description(state, plain(message))

    rows = [column("what to correlate", controls["input"], controls["kernel"], controls["own"]),
            column("where the kernel is", controls["row"], controls["col"])]
    return Explorer("Cross-correlation: slide the kernel", controls, rows, render,
                    intro="Each output cell is the sum of the highlighted input window times the "
                          "kernel, element by element. Pick “your own” kernel to type one.",
                    answers=[answer])


def _fit_slider(slider, high):
    """Set ``slider.max`` to ``high`` (the value is clamped by ipywidgets)."""
    if slider.max != high:
        slider.max = high
