"""Chapter 01: how many parameters a dense, a locally connected and a convolutional layer need."""
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import torch
from matplotlib.artist import Artist
from matplotlib.collections import LineCollection

from course.explorers._base import COLORS, Canvas, Explorer, label
from course.explorers.controls import int_slider, selection_slider
from course.explorers.drawing import outline, reset

#: Image sizes offered by the size slider (square images, n x n pixels).
IMAGE_SIZES = (4, 8, 16, 32, 64, 128, 256, 512, 1024)
MAX_DELTA = 10
LAYERS = ("dense", "locally connected", "convolution")
LAYER_COLORS = ("#9e9ac8", "#6baed6", "#fd8d3c")


@dataclass(frozen=True)
class LocalityState:
    """Parameter counts (weights + biases) of three layers from an n x n image to an n x n
    hidden map."""
    n: int          # image height = width, hidden map the same size
    delta: int      # window half-width: a hidden unit sees rows i-delta..i+delta
    counts: dict    # layer name -> parameter count
    window: tuple   # (top, left, size) of the window around the centre pixel, in pixels

    @property
    def side(self):
        """The window's height and width, 2 delta + 1."""
        return 2 * self.delta + 1


def locality_state(n, delta):
    """The three layers' parameter counts for an ``n x n`` image and half-width ``delta``."""
    pixels = n * n
    side = 2 * delta + 1
    counts = {"dense": pixels * pixels + pixels,
              "locally connected": pixels * side * side + pixels,
              "convolution": side * side + 1}
    centre = n // 2
    return LocalityState(n, delta, counts, (centre - delta, centre - delta, side))


@lru_cache(maxsize=len(IMAGE_SIZES))
def scene(n):
    """A small landscape (sky, sun, hills, a tree) as an ``(n, n, 3)`` array of RGB in [0, 1]."""
    v, u = torch.meshgrid(torch.linspace(0, 1, n), torch.linspace(0, 1, n), indexing="ij")
    top, horizon = torch.tensor([0.45, 0.68, 0.92]), torch.tensor([0.86, 0.93, 1.0])
    image = top + (horizon - top) * v[..., None]
    sun = ((u - 0.76) ** 2 + (v - 0.24) ** 2) < 0.11 ** 2
    image[sun] = torch.tensor([1.0, 0.83, 0.25])
    hills = v > 0.62 + 0.07 * torch.sin(2 * torch.pi * 1.3 * u + 0.6)
    green = torch.tensor([0.42, 0.70, 0.32]) * (1.1 - 0.5 * v[..., None])
    image = torch.where(hills[..., None], green, image)
    crown = ((u - 0.27) ** 2 / 0.11 ** 2 + (v - 0.48) ** 2 / 0.16 ** 2) < 1
    trunk = ((u - 0.27).abs() < 0.025) & (v > 0.55) & (v < 0.8)
    image[trunk] = torch.tensor([0.45, 0.3, 0.18])
    image[crown] = torch.tensor([0.15, 0.45, 0.2])
    return image.clamp(0, 1).numpy()


@lru_cache(maxsize=4)
def scene_pixels(n, width, height):
    """The scene scaled to ``width x height`` screen pixels (nearest pixel), as Agg draws it:
    uint8 RGBA, bottom row first."""
    rows = np.arange(height) * n // height
    cols = np.arange(width) * n // width
    rgba = np.full((height, width, 4), 255, np.uint8)
    rgba[..., :3] = np.round(scene(n)[rows][:, cols] * 255)
    return np.ascontiguousarray(rgba[::-1])


class ScenePicture(Artist):
    """The n x n scene filling its axes, drawn pixel for pixel (no resampling per update)."""

    def __init__(self, n):
        super().__init__()
        self.n = n
        self.set_zorder(1)

    def draw(self, renderer):
        box = self.axes.bbox
        gc = renderer.new_gc()
        renderer.draw_image(gc, round(box.x0), round(box.y0),
                            scene_pixels(self.n, round(box.width), round(box.height)))
        gc.restore()


def draw_locality(ax_image, ax_counts, state):
    """The window on the image (left) and the three counts on a log scale (right).

    The image axes spans [0, 1] whatever n is, so that its limits never change.
    """
    reset(ax_image)
    n = state.n
    ax_image.add_artist(ScenePicture(n))
    if n <= 32:
        ticks = np.linspace(0, 1, n + 1)
        lines = [[(0, t), (1, t)] for t in ticks] + [[(t, 0), (t, 1)] for t in ticks]
        ax_image.add_collection(LineCollection(lines, colors="white", linewidths=0.4, alpha=0.6),
                                autolim=False)
    top, left, side = state.window
    outline(ax_image, left / n, top / n, side / n, side / n, color=COLORS["window"],
            linewidth=2.5, fill=(1, 1, 1, 0.3))
    outline(ax_image, (n // 2) / n, (n // 2) / n, 1 / n, 1 / n, color="black", linewidth=1,
            fill=COLORS["window"], zorder=6)
    if side / n < 0.04:  # too small to see: ring it
        centre = (n // 2 + 0.5) / n
        ax_image.scatter([centre], [centre], s=260, facecolors="none", linewidths=2,
                         edgecolors=COLORS["window"], zorder=7)
    label(ax_image, 0.5, -0.03, f"{n}×{n} image, window {side}×{side}", va="bottom",
          fontsize=11)

    reset(ax_counts)
    counts = [state.counts[name] for name in LAYERS]
    ax_counts.barh(range(3), counts, color=LAYER_COLORS, height=0.6)
    for y, count in enumerate(counts):
        label(ax_counts, count * 1.6, y, in_words(count), va="center", fontsize=11, ha="left")


def in_words(count):
    """A count as people say it: 26,624 or 16.8 million or 1.1 trillion."""
    for size, name in ((1e15, "quadrillion"), (1e12, "trillion"), (1e9, "billion"),
                       (1e6, "million")):
        if count >= size:
            return f"{count / size:.3g} {name}"
    return f"{count:,}"


def locality_caption(state):
    """HTML: each count as a formula with the numbers filled in."""
    n, side = state.n, state.side
    c = state.counts
    saving = c["dense"] / c["convolution"]
    return "<br>".join([
        f"<b>dense</b> <span class='formula'>(n·n)·(n·n) + n·n = "
        f"({n}·{n})·({n}·{n}) + {n}·{n} "
        f"= {c['dense']:,}</span>",
        f"<b>locally connected</b> (locality) <span class='formula'>(n·n)·(2Δ+1)² + n·n = "
        f"({n}·{n})·{side}² + {n}·{n} = {c['locally connected']:,}</span>",
        f"<b>convolution</b> (locality + translation invariance) <span class='formula'>"
        f"(2Δ+1)² + 1 = {side}² + 1 = {c['convolution']:,}</span>",
        f"The hidden map has the image's size; one bias per hidden unit (one for the "
        f"convolution). The convolution needs <b>{saving:,.0f}×</b> fewer parameters than the "
        f"dense layer."])


def locality_description(state):
    """The picture in words (its text alternative)."""
    n, side, c = state.n, state.side, state.counts
    return (f"A {n}×{n} image of a landscape, a {side}×{side} window around its centre pixel. "
            f"Bars on a log scale: dense {in_words(c['dense'])}, locally connected "
            f"{in_words(c['locally connected'])}, convolution {in_words(c['convolution'])} "
            f"parameters.")


def locality_explorer():
    """Sliders for image size and window half-width Δ; three layers' parameter counts."""
    controls = {
        "n": selection_slider("image size n", IMAGE_SIZES, 32),
        "delta": int_slider("half-width Δ", 2, 0, MAX_DELTA),
    }
    canvas = Canvas(9.6, 3.8)
    ax_image = canvas.figure.add_axes((0.01, 0.02, 0.36, 0.86))
    ax_image.set_axis_off()
    ax_image.set_aspect("equal")
    ax_image.set_xlim(0, 1)
    ax_image.set_ylim(1, 0)
    ax_counts = canvas.figure.add_axes((0.55, 0.12, 0.43, 0.76))
    ax_counts.set_xscale("log")
    ax_counts.set_xlim(1, 1e17)
    ax_counts.set_xticks([1, 1e3, 1e6, 1e9, 1e12, 1e15],
                         ["1", "thousand", "million", "billion", "trillion", "quadrillion"],
                         fontsize=9)
    ax_counts.minorticks_off()
    ax_counts.set_yticks(range(3), LAYERS, fontsize=11)
    ax_counts.set_ylim(2.6, -0.6)
    ax_counts.set_title("parameters (weights + biases), log scale", fontsize=11)
    for side in ("top", "right"):
        ax_counts.spines[side].set_visible(False)

    wanted = {"delta": controls["delta"].value}  # the Δ the student chose, beyond any clamp

    def render(v):
        widest = min(MAX_DELTA, (v["n"] - 1) // 2)  # the window stays inside the image
        delta = controls["delta"]
        if delta.max != widest:
            chosen = wanted["delta"]
            delta.max = widest  # may clamp the value (and render once more)
            if delta.value != min(chosen, widest):
                delta.value = min(chosen, widest)  # a larger image gives the chosen Δ back
            wanted["delta"] = chosen
        else:
            wanted["delta"] = delta.value
        state = locality_state(v["n"], delta.value)
        draw_locality(ax_image, ax_counts, state)
        return canvas.png(), locality_caption(state), locality_description(state)

    return Explorer("Locality: from dense layers to convolutions", controls,
                    list(controls.values()), render,
                    intro="Each hidden unit looks at a (2Δ+1)×(2Δ+1) window. "
                          "How many parameters does each kind of layer need?")
