"""Chapter 03: input size, kernel size, padding and stride -> every window and the output."""
import html
from dataclasses import dataclass

import numpy as np
import torch
from matplotlib import colormaps
from matplotlib.colors import to_rgba
from torch.nn import functional as F

from course.explorers._base import COLORS, Canvas, Explorer, diagram_axes, label, note, plain
from course.explorers.controls import column, int_slider
from course.explorers.drawing import draw_grid, hatch, outline, reset
from course.explorers.yours import Answer, checked, verdict


@dataclass(frozen=True)
class PaddingStrideState:
    """What the padding-and-stride picture shows for one setting of the sliders."""
    input_shape: tuple      # (n_h, n_w)
    kernel_size: tuple      # (k_h, k_w)
    padding: tuple          # (p_h, p_w), per side as in PyTorch
    stride: tuple           # (s_h, s_w)
    padded_shape: tuple     # (n_h + 2 p_h, n_w + 2 p_w)
    fits: bool              # does the kernel fit in the padded input at all?
    output_shape: tuple     # PyTorch's output (h, w), or None when the kernel does not fit
    window_rows: tuple      # top row of every window, in padded coordinates
    window_cols: tuple      # left column of every window, in padded coordinates
    covered: np.ndarray     # (padded h, padded w) bool: cells that at least one window sees

    @property
    def unseen(self):
        """(padded h, padded w) bool: input cells (not padding) that no window sees."""
        (p_h, p_w), (n_h, n_w) = self.padding, self.input_shape
        unseen = np.zeros(self.padded_shape, dtype=bool)
        if self.fits:
            unseen[p_h:p_h + n_h, p_w:p_w + n_w] = ~self.covered[p_h:p_h + n_h, p_w:p_w + n_w]
        return unseen

    def formula(self, axis):
        """The notes' output-size formula with per-side padding, filled in for axis 0 or 1."""
        n, k, p, s = (self.input_shape[axis], self.kernel_size[axis], self.padding[axis],
                      self.stride[axis])
        top = n - k + 2 * p + s
        return (f"⌊({n} − {k} + 2·{p} + {s}) / {s}⌋ = ⌊{top} / {s}⌋ = {top // s}"
                .replace("-", "−"))


def padding_stride_state(input_shape, kernel_size, padding=(0, 0), stride=(1, 1)):
    """The windows and output of a 2-D convolution; every argument is an ``(h, w)`` pair."""
    (n_h, n_w), (k_h, k_w), (p_h, p_w), (s_h, s_w) = input_shape, kernel_size, padding, stride
    padded = (n_h + 2 * p_h, n_w + 2 * p_w)
    fits = k_h <= padded[0] and k_w <= padded[1]
    covered = np.zeros(padded, dtype=bool)
    if not fits:
        return PaddingStrideState(tuple(input_shape), tuple(kernel_size), tuple(padding),
                                  tuple(stride), padded, False, None, (), (), covered)
    output = F.conv2d(torch.zeros(1, 1, n_h, n_w), torch.zeros(1, 1, k_h, k_w),
                      padding=(p_h, p_w), stride=(s_h, s_w))
    rows = tuple(range(0, padded[0] - k_h + 1, s_h))
    cols = tuple(range(0, padded[1] - k_w + 1, s_w))
    for r in rows:
        for c in cols:
            covered[r:r + k_h, c:c + k_w] = True
    return PaddingStrideState(tuple(input_shape), tuple(kernel_size), tuple(padding), tuple(stride),
                              padded, True, tuple(output.shape[-2:]), rows, cols, covered)


def window_colors(count):
    """One colour per output cell (row-major), shared by its window's dot and the output cell."""
    cmap = colormaps["viridis"]
    return [cmap(0.15 + 0.75 * i / max(count - 1, 1)) for i in range(count)]


def draw_padding_stride(canvas, ax, state):
    """Padded input (padding grey, cells no window sees hatched), window centres, output grid."""
    reset(ax)
    (p_h, p_w), (n_h, n_w) = state.padding, state.input_shape
    ph, pw = state.padded_shape
    k_h, k_w = state.kernel_size
    if state.fits:
        o_h, o_w = state.output_shape
        right, bottom = pw + 2 + o_w, max(ph, o_h)
    else:
        right, bottom = max(pw, k_w), max(ph, k_h) + 1.2
    unit = canvas.fit(ax, (-0.3, max(right, 13) + 0.3), (bottom + 0.3, -2.0))
    # the picture is shrunk to fit the screen, the more the taller it is: text in cell units
    text_size = max(12, 0.5 * unit)
    fill = np.empty((ph, pw, 4))
    fill[:] = to_rgba(COLORS["padding"])
    fill[p_h:p_h + n_h, p_w:p_w + n_w] = to_rgba(COLORS["input"])
    fill[state.unseen] = to_rgba(COLORS["unseen"])
    draw_grid(ax, (ph, pw), fill=fill)
    hatch(ax, state.unseen)
    outline(ax, p_w, p_h, n_w, n_h, color="#3465a4", linewidth=1.5)
    title = f"input {n_h}×{n_w}" + (f", padded by ({p_h}, {p_w})" if p_h or p_w else "")
    if len(title) * 0.6 * text_size > (pw + 1.6) * unit:  # it would run into the output's
        title = title.replace(", padded", "\npadded")
    label(ax, 0, -0.4, title, va="bottom", fontsize=text_size, ha="left")
    if not state.fits:
        outline(ax, 0, 0, k_w, k_h, color=COLORS["wrong"], linestyle="--")
        label(ax, 0, k_h + 0.3, f"the {k_h}×{k_w} kernel does not fit", va="top", fontsize=text_size,
                color=COLORS["wrong"], ha="left")
        return
    colors = window_colors(o_h * o_w)
    xs = [c + k_w / 2 for _ in state.window_rows for c in state.window_cols]
    ys = [r + k_h / 2 for r in state.window_rows for _ in state.window_cols]
    # dark rims keep the light end of viridis visible on white, and (inverted) in a dark theme
    ax.scatter(xs, ys, s=(0.32 * unit) ** 2, c=colors, edgecolors=COLORS["text"],
               linewidths=0.8, zorder=6)
    windows = [(0, "-"), (-1, "--")][:len(colors)]
    for i, style in windows:
        outline(ax, state.window_cols[i], state.window_rows[i], k_w, k_h, color=COLORS["text"],
                linewidth=4)
        outline(ax, state.window_cols[i], state.window_rows[i], k_w, k_h, color=colors[i],
                linestyle=style)
    x0 = pw + 2
    out_fill = np.array(colors).reshape(o_h, o_w, 4)
    draw_grid(ax, (o_h, o_w), x0=x0, fill=out_fill)
    label(ax, x0, -0.4, f"output {o_h}×{o_w}", va="bottom", fontsize=text_size, ha="left")
    middle = min(ph, o_h) / 2
    ax.annotate("", xy=(x0 - 0.3, middle), xytext=(pw + 0.3, middle),
                arrowprops={"arrowstyle": "->", "color": COLORS["muted"], "lw": 1.5})


def same_shape(yours, expected):
    """Whether the student's answer is the pair ``expected`` (any sequence of two ints)."""
    try:
        return tuple(int(x) for x in yours) == tuple(expected)
    except (TypeError, ValueError):
        return False


def padding_stride_caption(state, call):
    """HTML: the formula filled in for height and width, PyTorch's shape and the student's
    (``call``, a ``yours.Call`` of their ``conv_output_shape``)."""
    lines = [f"<b>height</b> <span class='formula'>⌊(n_h − k_h + 2p_h + s_h) / s_h⌋ = "
             f"{state.formula(0)}</span>",
             f"<b>width</b>&nbsp; <span class='formula'>⌊(n_w − k_w + 2p_w + s_w) / s_w⌋ = "
             f"{state.formula(1)}</span>"]
    k, p, s = state.kernel_size, state.padding, state.stride
    layer = f"nn.Conv2d(1, 1, kernel_size={k}, padding={p}, stride={s})"
    if state.fits:
        lines.append(f"PyTorch: <code>{layer}</code> on a {state.input_shape[0]}×"
                     f"{state.input_shape[1]} input gives output shape "
                     f"<b>{state.output_shape}</b>. A dot marks each window's centre, in the "
                     f"colour of its output cell.")
        unseen = int(state.unseen.sum())
        if unseen:
            lines.append(f"{unseen} input cell(s), hatched in red, are never seen by any "
                         f"window: the stride jumps over them (the floor in the formula).")
    else:
        padded = f"{state.padded_shape[0]}×{state.padded_shape[1]}"
        lines.append(f"<span class='impossible'>✗ Impossible: the {k[0]}×{k[1]} kernel is "
                     f"larger than the {padded} padded input, so there is no window position "
                     f"and PyTorch raises an error.</span>")
    lines.append(your_line(state, call))
    return "<br>".join(lines) + checked(call)


def your_line(state, call):
    """HTML: what the student's ``conv_output_shape`` gave (``call``) and the verdict."""
    if call.note is not None:
        return note(call.note)
    result = html.escape(repr(call.result)[:80])
    shown = f"your <code>conv_output_shape</code> gives <b>{result}</b> "
    if state.fits:
        shown += verdict(same_shape(call.result, state.output_shape) and not call.library,
                         "same as PyTorch", call.library or f"PyTorch says {state.output_shape}")
    return shown


def padding_stride_description(state):
    """The picture in words (its text alternative)."""
    (n_h, n_w), (k_h, k_w) = state.input_shape, state.kernel_size
    (p_h, p_w), (s_h, s_w) = state.padding, state.stride
    text = (f"A {n_h}×{n_w} input padded by {p_h} rows and {p_w} columns on each side to "
            f"{state.padded_shape[0]}×{state.padded_shape[1]}; a {k_h}×{k_w} kernel with stride "
            f"({s_h}, {s_w}).")
    if not state.fits:
        return text + " The kernel does not fit: no output."
    unseen = int(state.unseen.sum())
    return (text + f" {len(state.window_rows)} by {len(state.window_cols)} window positions, "
            f"each marked by a dot at its centre, give the {state.output_shape[0]}×"
            f"{state.output_shape[1]} output" + (f"; {unseen} input cell(s) are hatched: no "
                                                 f"window sees them." if unseen else "."))


def padding_stride_explorer(conv_output_shape=None):
    """Sliders for input size, kernel size, padding and stride (height and width).

    Without ``conv_output_shape`` it checks the notebook's current one at every redraw."""
    answer = Answer("conv_output_shape", conv_output_shape)
    controls = {
        "n_h": int_slider("input n_h", 8, 1, 12), "k_h": int_slider("kernel k_h", 3, 1, 7),
        "p_h": int_slider("padding p_h", 1, 0, 3), "s_h": int_slider("stride s_h", 2, 1, 4),
        "n_w": int_slider("input n_w", 8, 1, 12), "k_w": int_slider("kernel k_w", 3, 1, 7),
        "p_w": int_slider("padding p_w", 1, 0, 3), "s_w": int_slider("stride s_w", 2, 1, 4),
    }
    canvas = Canvas(9.6, 4.6)
    ax = diagram_axes(canvas)

    def render(v):
        state = padding_stride_state((v["n_h"], v["n_w"]), (v["k_h"], v["k_w"]),
                                     (v["p_h"], v["p_w"]), (v["s_h"], v["s_w"]))
        draw_padding_stride(canvas, ax, state)
        call = answer.call(state.input_shape, state.kernel_size, state.padding, state.stride)
        return (canvas.png(), padding_stride_caption(state, call),
                f"{padding_stride_description(state)} {plain(your_line(state, call))}")

    rows = [column("height", *(controls[k] for k in ("n_h", "k_h", "p_h", "s_h"))),
            column("width", *(controls[k] for k in ("n_w", "k_w", "p_w", "s_w")))]
    return Explorer("Padding and stride", controls, rows, render,
                    intro="Padding (per side, as in PyTorch) grows the input; stride skips "
                          "window positions. Watch the output shape and the formula.",
                    answers=[answer])
