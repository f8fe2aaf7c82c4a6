"""The kernel training explorer: the notes' loop that learns the edge kernel [1, -1] from the
stripe image, epoch by epoch (loss, weights, output)."""
import math
from dataclasses import dataclass
from functools import lru_cache

import torch
from matplotlib import colormaps
from matplotlib.lines import Line2D
from torch.nn import functional as F

from course.explorers._base import Canvas, Explorer, label, single_thread
from course.explorers.controls import column, int_slider, selection_slider
from course.explorers.drawing import draw_grid, reset
from course.explorers.correlation import stripe_image


def stripe_data():
    """The notes' training pair: the 6x8 stripe image X and Y = X ⋆ [1, -1] (6x7)."""
    X = stripe_image()
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
WEIGHT_COLORS = ("#0072b2", "#d55e00")  # blue and vermillion: safe for colour-blind readers


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
    ax_weights.set_ylim(-2.6, 3.4)
    ax_weights.set_yticks([-2, -1, 0, 1, 2])
    ax_weights.set_xlabel("epoch")
    ax_weights.set_title("the kernel's two weights", fontsize=11)
    names = ("K[0,0] → 1", "K[0,1] → −1")
    ax_weights.legend(handles=[Line2D([], [], color=c, marker=m, markersize=3, label=name)
                               for c, m, name in zip(WEIGHT_COLORS, "os", names)],
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
    off = [epoch for epoch, loss in enumerate(losses, 1) if math.isnan(loss)]
    if off:  # where the loss leaves the chart: a triangle at the top, and a label
        ax_loss.plot(off, [LOSS_CEILING * 2] * len(off), "^", color="#3465a4", markersize=5)
        label(ax_loss, off[0] + 1, LOSS_CEILING / 20, f"▲ off the chart from epoch {off[0]}",
              ha="left" if off[0] < MAX_EPOCHS / 2 else "right", va="center", fontsize=9)

    reset(ax_weights)
    steps = range(epochs + 1)
    weights = state.weights.masked_fill(~(state.weights.abs() <= 2.3), math.nan)
    for target, color, marker, values in zip((1, -1), WEIGHT_COLORS, "os", weights.T):
        ax_weights.axhline(target, color=color, linestyle=":", lw=1)
        ax_weights.plot(steps, values, marker + "-", color=color, markersize=3)
        off = [step for step, value in zip(steps, values.tolist()) if math.isnan(value)]
        if off:  # the weight leaves the chart: mark where, at the edge it crossed
            column = 0 if target == 1 else 1
            for sign, marker in ((1, "^"), (-1, "v")):
                steps_off = [step for step in off if sign * state.weights[step, column] > 0]
                ax_weights.plot(steps_off, [2.45 * sign] * len(steps_off), marker, color=color,
                                markersize=5)

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


def training_description(state):
    """The picture in words (its text alternative)."""
    first, last = state.weights[0].tolist(), state.weights[-1].tolist()
    trend = ("rises off the chart: training diverged" if state.diverged else
             f"goes from {state.losses[0]:.3g} to {state.losses[-1]:.3g}")
    return (f"Three plots over {len(state.losses)} epoch(s) at learning rate {state.lr:.3g}. The "
            f"loss, on a log scale, {trend}. The kernel's two weights move from "
            f"[{first[0]:.3g}, {first[1]:.3g}] to [{last[0]:.3g}, {last[1]:.3g}], towards the "
            f"dotted targets 1 and −1. Beside them the target edges Y and the output of the "
            f"learned kernel, red for +1, white for 0, blue for −1.")


def kernel_training_explorer():
    """Learning-rate, epoch and seed sliders for the notes' kernel-learning loop."""
    controls = {
        "lr": selection_slider("learning rate", LEARNING_RATES, 3e-2,
                               [f"{lr:g}" for lr in LEARNING_RATES]),
        "epochs": int_slider("epochs", 10, 1, MAX_EPOCHS),
        "seed": int_slider("random seed", NOTES_SEED, 0, 99),
    }
    canvas = Canvas(9.6, 3.2)
    ax_loss, ax_weights, ax_output = training_axes(canvas.figure)

    def render(v):
        state = training_state(v["lr"], v["epochs"], v["seed"])
        draw_training(ax_loss, ax_weights, ax_output, state)
        return canvas.png(), training_caption(state), training_description(state)

    rows = [column("training", controls["lr"], controls["epochs"]),
            column("the random initial kernel", controls["seed"])]
    return Explorer("Learning the edge kernel", controls, rows, render,
                    intro="The notes' loop: a 1×2 kernel starts random and learns to turn the "
                          "stripe X into its edges Y = X ⋆ [1, −1].")
