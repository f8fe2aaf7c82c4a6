"""Chapter 04: input and output channels -> the kernel tensor, its parameters and its cost."""
from dataclasses import dataclass

import numpy as np
import torch
from matplotlib import colormaps
from matplotlib.collections import LineCollection
from matplotlib.patches import Rectangle

from course.explorers._base import COLORS, Canvas, Explorer, Labels, label
from course.explorers.controls import column, int_slider
from course.explorers.drawing import number, reset

INPUT_SHADES = colormaps["Blues"]
OUTPUT_SHADES = colormaps["Greens"]
WEIGHT_COLORS = colormaps["PuOr_r"]  # orange: positive weight, purple: negative


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


def shade(shades, c, count):
    """The colour of channel ``c`` of ``count`` (light to dark), shared by every picture."""
    return shades(0.3 + 0.55 * c / max(count - 1, 1))


def _stack(ax, x, y, count, side, shades, title):
    """``count`` squares offset like a deck of cards, top-left at ``(x, y)``; returns the right
    edge."""
    step = min(0.35, 2.4 / max(count, 1))
    for c in range(count - 1, -1, -1):
        ax.add_artist(Rectangle((x + c * step, y + c * step), side, side,
                               facecolor=shade(shades, c, count), edgecolor="#333333",
                               linewidth=0.8, zorder=2 + count - c))
    label(ax, x + (side + (count - 1) * step) / 2, y + side + (count - 1) * step + 0.4, title,
          va="top", fontsize=10)
    return x + side + (count - 1) * step


def _arrow(ax, x0, x1, y):
    ax.annotate("", xy=(x1, y), xytext=(x0, y), arrowprops={"arrowstyle": "->", "lw": 1.5})


def draw_channels(ax_tensor, ax_mix, state):
    """Input stack -> kernel tensor (c_o rows of c_i tiles) -> output stack; channel mixing.

    Rows of the kernel carry their output channel's colour on the left, columns their input
    channel's colour on top; the mixing graph uses the same colours.
    """
    reset(ax_tensor)
    c_i, c_o, k = state.c_i, state.c_o, state.k
    right = _stack(ax_tensor, 0.2, 2.6, c_i, 3, INPUT_SHADES,
                   f"input\n{c_i} × {state.n} × {state.n}")
    _arrow(ax_tensor, right + 0.3, right + 1.3, 4.5)
    mosaic = kernel_mosaic(state.kernel)
    x0, y0 = right + 2.1, 1.4
    scale = min(7.5 / mosaic.shape[1], 6.6 / mosaic.shape[0])
    width, height = mosaic.shape[1] * scale, mosaic.shape[0] * scale
    limit = float(state.kernel.abs().max())
    ax_tensor.imshow(np.ma.masked_invalid(mosaic), cmap=WEIGHT_COLORS, vmin=-limit, vmax=limit,
                     extent=(x0, x0 + width, y0 + height, y0), interpolation="nearest")
    if k == 1:  # a 1x1 kernel is a c_o x c_i matrix: write its entries
        strong = state.kernel.abs() > 0.6 * limit
        for dark, color in ((False, COLORS["text"]), (True, "white")):
            ax_tensor.add_artist(Labels(
                [(x0 + (i * 2 + 0.5) * scale, y0 + (o * 2 + 0.5) * scale,
                  number(state.kernel[o, i, 0, 0])) for o in range(c_o) for i in range(c_i)
                 if bool(strong[o, i, 0, 0]) == dark],
                fontsize=10, color=color, max_width=0.9 * scale))
    bar = 0.22
    for i in range(c_i):
        left = x0 + i * (k + 1) * scale
        ax_tensor.add_artist(Rectangle((left, y0 - 2 * bar), k * scale, bar, linewidth=0,
                                      facecolor=shade(INPUT_SHADES, i, c_i)))
    for o in range(c_o):
        top = y0 + o * (k + 1) * scale
        ax_tensor.add_artist(Rectangle((x0 - 2 * bar, top), bar, k * scale, linewidth=0,
                                      facecolor=shade(OUTPUT_SHADES, o, c_o)))
    label(ax_tensor, x0 + width / 2, y0 - 2.5 * bar, f"kernel {tuple(state.kernel.shape)}",
          va="bottom", fontsize=11)
    label(ax_tensor, x0 + width / 2, y0 + height + 0.25,
          f"row: output channel · column: input channel\none {k}×{k} slice per pair",
          va="top", fontsize=9, color=COLORS["muted"])
    x = x0 + width + 0.5
    _arrow(ax_tensor, x, x + 1.0, 4.5)
    out = state.output_size
    title = f"output\n{c_o} × {out} × {out}" if out else "no output:\nkernel > input"
    _stack(ax_tensor, x + 1.4, 2.6, c_o, 3 if out else 1, OUTPUT_SHADES, title)

    reset(ax_mix)
    ys_in = np.linspace(0, 1, c_i + 2)[1:-1]
    ys_out = np.linspace(0, 1, c_o + 2)[1:-1]
    mixing = state.mixing
    strength = mixing.abs() / mixing.abs().max()
    pairs = [(o, i) for o in range(c_o) for i in range(c_i)]
    ax_mix.add_collection(LineCollection(
        [[(0, ys_in[i]), (1, ys_out[o])] for o, i in pairs],
        colors=[WEIGHT_COLORS(0.9 if mixing[o, i] > 0 else 0.1) for o, i in pairs],
        linewidths=[0.5 + 3 * float(strength[o, i]) for o, i in pairs], alpha=0.75),
        autolim=False)
    ax_mix.scatter(np.zeros(c_i), ys_in, s=170, edgecolors="#333", zorder=3,
                   c=[shade(INPUT_SHADES, i, c_i) for i in range(c_i)])
    ax_mix.scatter(np.ones(c_o), ys_out, s=170, edgecolors="#333", zorder=3,
                   c=[shade(OUTPUT_SHADES, o, c_o) for o in range(c_o)])
    label(ax_mix, 0, -0.02, "in", va="top", fontsize=10)
    label(ax_mix, 1, -0.02, "out", va="top", fontsize=10)
    title = ("1×1 kernel: at each pixel,\na matrix mixes the channels" if k == 1
             else f"each line is a {k}×{k} slice:\nmixes channels and neighbours")
    label(ax_mix, 0.5, -0.13, title, va="bottom", fontsize=10)


def channels_caption(state):
    """HTML: shape, parameter count and multiply-accumulates with the numbers filled in."""
    c_i, c_o, k, out = state.c_i, state.c_o, state.k, state.output_size
    lines = [
        f"<b>kernel shape</b> <span class='formula'>(c_o, c_i, k_h, k_w) = ({c_o}, {c_i}, {k}, {k})"
        f"</span>",
        f"<b>parameters</b> <span class='formula'>c_o·c_i·k_h·k_w + c_o = "
        f"{c_o}·{c_i}·{k}·{k} + "
        f"{c_o} = {state.params:,}</span> (one bias per output channel)"]
    if out:
        lines.append(f"<b>multiply-accumulates</b> on a {c_i}×{state.n}×{state.n} input "
                     f"<span class='formula'>c_o·c_i·k_h·k_w·h'·w' = "
                     f"{c_o}·{c_i}·{k}·{k}·{out}·{out}"
                     f" = {state.macs:,}</span>")
    else:
        lines.append(f"<span class='impossible'>A {k}×{k} kernel does not fit in a "
                     f"{state.n}×{state.n} input: no output.</span>")
    if k == 1:
        lines.append("A 1×1 convolution never looks at neighbours: at every pixel it multiplies "
                     f"the {c_i} input values by a {c_o}×{c_i} matrix, like a dense layer per "
                     f"pixel.")
    return "<br>".join(lines)


def channels_description(state):
    """The picture in words (its text alternative)."""
    c_i, c_o, k, n, out = state.c_i, state.c_o, state.k, state.n, state.output_size
    output = f"a stack of {c_o} output channels of {out}×{out}" if out else "no output"
    return (f"A stack of {c_i} input channels of {n}×{n}, an arrow to the kernel tensor drawn as "
            f"{c_o} rows (output channels) of {c_i} tiles (input channels) of {k}×{k} weights, "
            f"orange positive and purple negative, then an arrow to {output}. On the right, "
            f"{c_i * c_o} lines join each input channel to each output channel, thicker for "
            f"stronger weights.")


def channels_explorer():
    """Sliders for input channels, output channels, kernel size and input size."""
    controls = {
        "c_i": int_slider("input c_i", 2, 1, 8),
        "c_o": int_slider("output c_o", 3, 1, 8),
        "k": int_slider("kernel k × k", 2, 1, 7),
        "n": int_slider("input n × n", 3, 1, 64),
    }
    canvas = Canvas(9.6, 3.4)
    ax_tensor = canvas.figure.add_axes((0.0, 0.0, 0.74, 1.0))
    ax_tensor.set_axis_off()
    ax_tensor.set_xlim(0, 21.3)
    ax_tensor.set_ylim(9.8, 0)
    ax_mix = canvas.figure.add_axes((0.77, 0.03, 0.22, 0.78))
    ax_mix.set_axis_off()
    ax_mix.set_xlim(-0.25, 1.25)
    ax_mix.set_ylim(1.02, -0.3)

    def render(v):
        state = channels_state(v["c_i"], v["c_o"], v["k"], v["n"])
        draw_channels(ax_tensor, ax_mix, state)
        return canvas.png(), channels_caption(state), channels_description(state)

    rows = [column("channels", controls["c_i"], controls["c_o"]),
            column("sizes", controls["k"], controls["n"])]
    return Explorer("Multiple input and output channels", controls, rows, render,
                    intro="A kernel has one k×k slice per (output, input) channel pair: "
                          "orange weights are positive, purple negative.")
