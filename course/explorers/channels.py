"""Chapter 04: input and output channels -> the kernel tensor, its parameters and its cost."""
from dataclasses import dataclass

import numpy as np
import torch
from matplotlib import colormaps
from matplotlib.collections import LineCollection
from matplotlib.patches import Rectangle

from course.explorers._base import COLORS, Canvas, Explorer, column, int_slider, label, reset

INPUT_SHADES = colormaps["Blues"]
OUTPUT_SHADES = colormaps["Greens"]


@dataclass(frozen=True)
class ChannelsState:
    """The kernel tensor and the cost of one convolution with c_i -> c_o channels."""
    c_i: int
    c_o: int
    k: int                  # square kernel, k_h = k_w = k
    n: int                  # square input, n x n, stride 1, no padding
    kernel: torch.Tensor    # (c_o, c_i, k, k) example weights (seeded)
    params: int             # weights + one bias per output channel
    output_size: int        # n - k + 1, or 0 when the kernel does not fit
    macs: int               # multiply-accumulates of one forward pass

    @property
    def mixing(self):
        """``(c_o, c_i)``: how strongly each output channel uses each input channel."""
        return self.kernel.sum(dim=(2, 3))


def channels_state(c_i, c_o, k, n):
    """Shape, parameter count and multiply-accumulates of a ``c_i -> c_o`` ``k x k`` convolution."""
    kernel = torch.randn(c_o, c_i, k, k, generator=torch.Generator().manual_seed(0))
    bias = torch.zeros(c_o)
    out = max(n - k + 1, 0)
    macs = kernel.numel() * out * out
    return ChannelsState(c_i, c_o, k, n, kernel, kernel.numel() + bias.numel(), out, macs)


def kernel_mosaic(kernel):
    """The ``(c_o, c_i, k, k)`` kernel as one image: c_o rows of c_i k x k tiles, NaN gaps."""
    c_o, c_i, k, _ = kernel.shape
    mosaic = np.full((c_o * (k + 1) - 1, c_i * (k + 1) - 1), np.nan)
    for o in range(c_o):
        for i in range(c_i):
            mosaic[o * (k + 1):o * (k + 1) + k, i * (k + 1):i * (k + 1) + k] = kernel[o, i].numpy()
    return mosaic


def _stack(ax, x, y, count, side, shades, title):
    """``count`` squares offset like a deck of cards, top-left at ``(x, y)``; returns the right edge."""
    step = min(0.35, 2.4 / max(count, 1))
    for c in range(count - 1, -1, -1):
        shade = shades(0.35 + 0.5 * c / max(count - 1, 1))
        ax.add_patch(Rectangle((x + c * step, y + c * step), side, side, facecolor=shade,
                               edgecolor="#333333", linewidth=0.8, zorder=2 + count - c))
    label(ax, x + side / 2, y + side + (count - 1) * step + 0.5, title, ha="center", va="top",
            fontsize=10)
    return x + side + (count - 1) * step


def draw_channels(ax_tensor, ax_mix, state):
    """Input stack -> kernel tensor (c_o rows of c_i tiles) -> output stack; channel mixing."""
    reset(ax_tensor)
    c_i, c_o, k = state.c_i, state.c_o, state.k
    right = _stack(ax_tensor, 0, 1.5, c_i, 3, INPUT_SHADES, f"input\n{c_i} × {state.n} × {state.n}")
    ax_tensor.annotate("", xy=(right + 1.2, 3), xytext=(right + 0.2, 3),
                       arrowprops={"arrowstyle": "->", "lw": 1.5})
    mosaic = kernel_mosaic(state.kernel)
    box_x, box_w, box_h = right + 1.5, 7.0, 7.0
    scale = min(box_w / mosaic.shape[1], box_h / mosaic.shape[0])
    width, height = mosaic.shape[1] * scale, mosaic.shape[0] * scale
    limit = float(state.kernel.abs().max())
    ax_tensor.imshow(np.ma.masked_invalid(mosaic), cmap="RdBu_r", vmin=-limit, vmax=limit,
                     extent=(box_x, box_x + width, 0.5 + height, 0.5), interpolation="nearest")
    label(ax_tensor, box_x + width / 2, 0.3, f"kernel {tuple(state.kernel.shape)}", ha="center",
                   va="bottom", fontsize=11, color=COLORS["text"])
    label(ax_tensor, box_x - 0.15, 0.5 + height / 2, f"{c_o} output\nchannels", ha="right",
                   va="center", fontsize=9, color=COLORS["muted"])
    label(ax_tensor, box_x + width / 2, 0.7 + height, f"{c_i} input channels, {k}×{k} each",
                   ha="center", va="top", fontsize=9, color=COLORS["muted"])
    x = box_x + width + 0.4
    ax_tensor.annotate("", xy=(x + 1.0, 3), xytext=(x, 3), arrowprops={"arrowstyle": "->", "lw": 1.5})
    out = state.output_size
    title = f"output\n{c_o} × {out} × {out}" if out else "output\nkernel too large"
    _stack(ax_tensor, x + 1.3, 1.5, c_o, 3 if out else 1, OUTPUT_SHADES, title)

    reset(ax_mix)
    ys_in = np.linspace(0, 1, c_i + 2)[1:-1]
    ys_out = np.linspace(0, 1, c_o + 2)[1:-1]
    mixing = state.mixing
    strength = mixing.abs() / mixing.abs().max()
    segments = [[(0, ys_in[i]), (1, ys_out[o])] for o in range(c_o) for i in range(c_i)]
    colors = ["#b2182b" if mixing[o, i] > 0 else "#2166ac" for o in range(c_o) for i in range(c_i)]
    widths = [0.5 + 3 * float(strength[o, i]) for o in range(c_o) for i in range(c_i)]
    ax_mix.add_collection(LineCollection(segments, colors=colors, linewidths=widths, alpha=0.7))
    ax_mix.scatter(np.zeros(c_i), ys_in, s=160, c=[INPUT_SHADES(0.6)] * c_i, edgecolors="#333",
                   zorder=3)
    ax_mix.scatter(np.ones(c_o), ys_out, s=160, c=[OUTPUT_SHADES(0.6)] * c_o, edgecolors="#333",
                   zorder=3)
    label(ax_mix, 0, -0.02, "in", ha="center", va="top", fontsize=10)
    label(ax_mix, 1, -0.02, "out", ha="center", va="top", fontsize=10)
    title = ("1×1: one pixel's channels\nmixed by a matrix" if k == 1
             else f"each line: a {k}×{k} kernel\n(mixes channels and neighbours)")
    label(ax_mix, 0.5, -0.12, title, ha="center", va="bottom", fontsize=10)


def channels_caption(state):
    """HTML: shape, parameter count and multiply-accumulates with the numbers filled in."""
    c_i, c_o, k, out = state.c_i, state.c_o, state.k, state.output_size
    lines = [
        f"<b>kernel shape</b> <span class='formula'>(c_o, c_i, k_h, k_w) = ({c_o}, {c_i}, {k}, {k})"
        f"</span>",
        f"<b>parameters</b> <span class='formula'>c_o·c_i·k_h·k_w + c_o = {c_o}·{c_i}·{k}·{k} + "
        f"{c_o} = {state.params:,}</span> (one bias per output channel)"]
    if out:
        lines.append(f"<b>multiply-accumulates</b> on a {c_i}×{state.n}×{state.n} input "
                     f"<span class='formula'>c_o·c_i·k_h·k_w·h'·w' = {c_o}·{c_i}·{k}·{k}·{out}·{out}"
                     f" = {state.macs:,}</span>")
    else:
        lines.append(f"<span class='impossible'>A {k}×{k} kernel does not fit in a "
                     f"{state.n}×{state.n} input: no output.</span>")
    if k == 1:
        lines.append("A 1×1 convolution never looks at neighbours: at every pixel it multiplies "
                     f"the {c_i} input values by a {c_o}×{c_i} matrix, like a dense layer per pixel.")
    return "<br>".join(lines)


def channels_explorer():
    """Sliders for input channels, output channels, kernel size and input size."""
    controls = {
        "c_i": int_slider("input channels c_i", 2, 1, 8),
        "c_o": int_slider("output channels c_o", 3, 1, 8),
        "k": int_slider("kernel size k", 2, 1, 7),
        "n": int_slider("input size n", 3, 1, 64),
    }
    canvas = Canvas(9.6, 3.6)
    ax_tensor = canvas.figure.add_axes((0.01, 0.02, 0.72, 0.96))
    ax_tensor.set_axis_off()
    ax_tensor.set_xlim(-0.3, 20.5)
    ax_tensor.set_ylim(9.2, -0.1)
    ax_tensor.set_aspect("equal")
    ax_mix = canvas.figure.add_axes((0.76, 0.02, 0.23, 0.8))
    ax_mix.set_axis_off()
    ax_mix.set_xlim(-0.25, 1.25)
    ax_mix.set_ylim(1.02, -0.3)

    def render(v):
        state = channels_state(v["c_i"], v["c_o"], v["k"], v["n"])
        draw_channels(ax_tensor, ax_mix, state)
        return canvas.png(), channels_caption(state)

    rows = [column("channels", controls["c_i"], controls["c_o"]),
            column("sizes", controls["k"], controls["n"])]
    return Explorer("Multiple input and output channels", controls, rows, render,
                    intro="A kernel has one k×k slice per (output, input) channel pair: "
                          "red weights are positive, blue negative.")
