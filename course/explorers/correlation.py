"""Chapter 02: slide a kernel over an input (cross-correlation); learn the notes' edge kernel."""
import math
import re
from dataclasses import dataclass
from functools import lru_cache

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib import colormaps
from matplotlib.colors import to_rgba
from matplotlib.lines import Line2D
from torch.nn import functional as F

from course.explorers._base import (COLORS, SLIDER_STYLE, SLIDER_WIDTH, Canvas, Explorer,
                                    column, diagram_axes, draw_grid, draw_yours, int_slider,
                                    label, labels_of, note, number, outline, reset, single_thread)
from course.explorers.yours import call_student, compare_outputs


def _stripe():
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
    "the notes' stripe (6×8)": _stripe(),
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


def correlation_explorer(corr2d=None):
    """Move the kernel over the input with row and column sliders; pick the input and kernel."""
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
        """``(tensor or None, html)``: the student's corr2d on (X, K), computed once per pair."""
        key = (X.numpy().tobytes(), K.numpy().tobytes(), tuple(K.shape))
        if key not in cache:
            call = call_student(corr2d, X.clone(), K.clone(), graded="corr2d")
            cache.clear()
            cache[key] = ((None, note(call.note)) if call.note is not None
                          else compare_outputs(call.result, Y, call.library))
        return cache[key]

    def render(v):
        X = INPUTS[v["input"]]
        K = KERNELS[v["kernel"]]
        if K is None:
            try:
                K = parse_kernel(v["own"])
            except ValueError as error:
                return None, note(f"your own kernel: {error}")
        state = correlation_state(X, K, v["row"], v["col"])
        yours = None
        if state.Y is None:
            caption = (f"<span class='impossible'>The {K.shape[0]}×{K.shape[1]} kernel is larger "
                       f"than the {X.shape[0]}×{X.shape[1]} input: no position fits.</span>")
        else:
            _fit_slider(controls["row"], state.Y.shape[0] - 1)
            _fit_slider(controls["col"], state.Y.shape[1] - 1)
            yours, message = student_output(X, K, state.Y)
            caption = (f"<b>Y[{state.row}, {state.col}]</b> = window × kernel, summed = "
                       f"<span class='formula'>{sum_of_products(state)}</span><br>{message}")
        draw_correlation(canvas, ax, state, yours)
        return canvas.png(), caption

    rows = [column("what to correlate", controls["input"], controls["kernel"], controls["own"]),
            column("where the kernel is", controls["row"], controls["col"])]
    return Explorer("Cross-correlation: slide the kernel", controls, rows, render,
                    intro="Each output cell is the sum of the highlighted input window times the "
                          "kernel, element by element.")


def _fit_slider(slider, high):
    """Set ``slider.max`` to ``high`` (the value is clamped by ipywidgets)."""
    if slider.max != high:
        slider.max = high


# ----------------------------------------------------------------------------------------------
# Learning the notes' edge kernel


def stripe_data():
    """The notes' training pair: the 6x8 stripe image X and Y = X ⋆ [1, -1] (6x7)."""
    X = _stripe()
    Y = F.conv2d(X[None, None], torch.tensor([[[[1.0, -1.0]]]]))[0, 0]
    return X, Y


@dataclass(frozen=True)
class TrainingState:
    """The notes' training loop of a (1, 2) kernel, epoch by epoch."""
    lr: float
    losses: tuple           # summed squared loss of each epoch (before its update)
    weights: torch.Tensor   # (epochs + 1, 2): the kernel before training and after each epoch
    Y_hat: torch.Tensor     # (6, 7): the final kernel's output on X

    @property
    def diverged(self):
        """True when the loss grew without bound (learning rate too large)."""
        return not all(math.isfinite(loss) and loss < 1e6 for loss in self.losses)


@lru_cache(maxsize=64)
def _train(lr, epochs, seed):
    X, Y = stripe_data()
    generator = torch.Generator().manual_seed(seed)
    # nn.Conv2d's default initialisation for a (1, 2) kernel: uniform in ±1/sqrt(2)
    weight = ((torch.rand(1, 1, 1, 2, generator=generator) * 2 - 1) / math.sqrt(2)).requires_grad_()
    losses, weights = [], [weight.detach().flatten().clone()]
    with single_thread():
        for _ in range(epochs):
            loss = ((F.conv2d(X[None, None], weight) - Y) ** 2).sum()
            loss.backward()
            with torch.no_grad():
                weight -= lr * weight.grad
            weight.grad = None
            losses.append(loss.item())
            weights.append(weight.detach().flatten().clone())
        with torch.no_grad():
            Y_hat = F.conv2d(X[None, None], weight)[0, 0]
    return tuple(losses), torch.stack(weights), Y_hat


def training_state(lr, epochs, seed=0):
    """Train the notes' (1, 2) kernel on the stripe: ``epochs`` epochs at learning rate ``lr``."""
    losses, weights, Y_hat = _train(float(lr), int(epochs), int(seed))
    return TrainingState(float(lr), losses, weights, Y_hat)


#: The most epochs the slider offers; the plots' epoch axes always span them.
MAX_EPOCHS = 50
#: The learning rates the slider offers (the notes' 0.03 among them).
LEARNING_RATES = (0.001, 0.002, 0.005, 0.01, 0.02, 0.03, 0.05, 0.1, 0.2, 0.3, 0.5, 1.0)
#: The notebook's ``torch.manual_seed`` before its training loop: the explorer opens there.
NOTES_SEED = 27
#: Losses above this are drawn at the top of the loss plot (the caption says it diverged).
LOSS_CEILING = 1e6
WEIGHT_COLORS = ("#2ca02c", "#d62728")


def training_axes(figure):
    """The static axes of the training explorer: loss, weights, target and learned output."""
    ax_loss = figure.add_axes((0.065, 0.16, 0.25, 0.72))
    ax_loss.set_yscale("log")
    ax_loss.set_xlim(0, MAX_EPOCHS + 1)
    ax_loss.set_ylim(1e-6, LOSS_CEILING * 3)
    ax_loss.set_yticks([1e-6, 1e-4, 1e-2, 1, 1e2, 1e4, 1e6],
                       ["1e-6", "1e-4", "0.01", "1", "100", "1e4", "1e6"])
    ax_loss.minorticks_off()
    ax_loss.set_xlabel("epoch")
    ax_loss.set_title("loss (sum of squared errors)", fontsize=11)
    ax_weights = figure.add_axes((0.385, 0.16, 0.25, 0.72))
    ax_weights.set_xlim(-1, MAX_EPOCHS + 1)
    ax_weights.set_ylim(-2.2, 2.9)
    ax_weights.set_yticks([-2, -1, 0, 1, 2])
    ax_weights.set_xlabel("epoch")
    ax_weights.set_title("the kernel's two weights", fontsize=11)
    names = ("K[0,0] → 1", "K[0,1] → −1")
    ax_weights.legend(handles=[Line2D([], [], color=c, marker="o", markersize=3, label=name)
                               for c, name in zip(WEIGHT_COLORS, names)],
                      loc="upper center", ncol=2, fontsize=9, frameon=False, handlelength=1.5,
                      columnspacing=1)
    for ax in (ax_loss, ax_weights):
        for side in ("top", "right"):
            ax.spines[side].set_visible(False)
    ax_target = figure.add_axes((0.69, 0.54, 0.30, 0.34))
    ax_target.set_title("target Y = X ⋆ [1, −1]", fontsize=11)
    ax_output = figure.add_axes((0.69, 0.05, 0.30, 0.34))
    ax_output.set_title("output of the learned kernel", fontsize=11)
    for ax in (ax_target, ax_output):
        ax.set_axis_off()
        ax.set_xlim(0, 7)
        ax.set_ylim(6, 0)
        ax.set_aspect("equal")
    draw_heatmap(ax_target, stripe_data()[1])
    return ax_loss, ax_weights, ax_output


def draw_heatmap(ax, Y):
    """A (6, 7) output as cells: red for +1, white for 0, blue for −1."""
    values = Y.nan_to_num(nan=0.0)
    fill = colormaps["RdBu_r"](((values + 1.5) / 3).clamp(0, 1).numpy())
    draw_grid(ax, tuple(Y.shape), fill=fill, linewidth=0.4)


def draw_training(ax_loss, ax_weights, ax_output, state):
    """Loss per epoch (log scale), the two kernel weights per epoch, the final output."""
    epochs = len(state.losses)
    reset(ax_loss)
    # values off the chart are left out (NaN breaks the line): the caption says it diverged
    losses = [loss if math.isfinite(loss) and loss <= LOSS_CEILING else math.nan
              for loss in state.losses]
    ax_loss.plot(range(1, epochs + 1), [max(loss, 1e-6) for loss in losses], "o-",
                 color="#3465a4", markersize=3)

    reset(ax_weights)
    steps = range(epochs + 1)
    weights = state.weights.masked_fill(~(state.weights.abs() <= 2.3), math.nan)
    for target, color, values in zip((1, -1), WEIGHT_COLORS, weights.T):
        ax_weights.axhline(target, color=color, linestyle=":", lw=1)
        ax_weights.plot(steps, values, "o-", color=color, markersize=3)

    reset(ax_output)
    draw_heatmap(ax_output, state.Y_hat)


def training_caption(state):
    """HTML: the learned kernel, the last loss, and a warning when training diverged."""
    last = state.weights[-1].tolist()
    text = (f"After {len(state.losses)} epoch(s) at learning rate {state.lr:.3g}: kernel "
            f"<span class='formula'>[{last[0]:.4g}, {last[1]:.4g}]</span> (target [1, −1]), "
            f"last loss <span class='formula'>{state.losses[-1]:.3g}</span>.")
    if state.diverged:
        text += ("<br><span class='impossible'>The loss blew up: each step overshoots. "
                 "Try a smaller learning rate.</span>")
    return text


def kernel_training_explorer():
    """Learning-rate, epoch and seed sliders for the notes' kernel-learning loop."""
    controls = {
        "lr": widgets.SelectionSlider(options=LEARNING_RATES, value=3e-2,
                                      description="learning rate", style=SLIDER_STYLE,
                                      layout=widgets.Layout(width=SLIDER_WIDTH)),
        "epochs": int_slider("epochs", 10, 1, MAX_EPOCHS),
        "seed": int_slider("initial kernel", NOTES_SEED, 0, 99),
    }
    canvas = Canvas(9.6, 3.2)
    ax_loss, ax_weights, ax_output = training_axes(canvas.figure)

    def render(v):
        state = training_state(v["lr"], v["epochs"], v["seed"])
        draw_training(ax_loss, ax_weights, ax_output, state)
        return canvas.png(), training_caption(state)

    rows = [column("training", controls["lr"], controls["epochs"]),
            column("start (random seed)", controls["seed"])]
    return Explorer("Learning the edge kernel", controls, rows, render,
                    intro="The notes' loop: a 1×2 kernel starts random and learns to turn the "
                          "stripe X into its edges Y = X ⋆ [1, −1].")
