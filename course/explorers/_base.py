"""What every explorer shares: a persistent Agg figure shown as a PNG, the widget box that
redraws it when a control moves, and cached text labels (the cell diagrams drawn on the figure
are in ``drawing``, the sliders in ``controls``, the call of the student's function in ``yours``).

An explorer is three parts: a pure *state* function (slider values -> what to draw), a *draw*
function (state -> artists on a persistent figure) and a *caption* (state -> HTML text).
"""
import base64
import contextlib
import html
import os
import re
import struct
import traceback
import zlib
from functools import lru_cache

import ipywidgets as widgets
import numpy as np
import torch
from matplotlib.artist import Artist
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.colors import to_rgba
from matplotlib.figure import Figure
from matplotlib.font_manager import FontProperties, findfont, get_font
from traitlets import Unicode

from course.explorers import yours
from course.explorers.controls import Caption

#: Colours shared by every explorer, so that "input", "kernel", "output" look the same everywhere.
#: Told apart by colour-blind readers too (light blue, orange, green fills; vermillion for wrong,
#: always with a hatch as well); text at least 4.5:1 on white.
COLORS = {
    "input": "#dbe9f6",
    "padding": "#eeeeee",
    "kernel": "#fde2b8",
    "output": "#d9f0d3",
    "window": "#e6550d",
    "highlight": "#fdae6b",
    "unseen": "#f8c9c9",
    "yours": "#e5d8f0",
    "wrong": "#b33c00",
    "text": "#222222",
    "muted": "#595959",
}

#: The explorers' page style: JupyterLab's theme variables (light, dark, high contrast), with
#: fallbacks for pages without them; verdicts carry a sign (✓ ✗), never colour alone. In a
#: dark theme the picture (drawn on white) is inverted with its hues kept. A saved picture, shown
#: without its kernel (ipywidgets marks it disconnected), hides its controls and says what to run.
STYLE = """<style>
.course-explorer {color: var(--jp-content-font-color1, #1a1a1a);}
.explorer-caption {font-size: 14px; line-height: 1.45;
  color: var(--jp-content-font-color1, #1a1a1a);}
.explorer-caption .explorer-title {font-size: 16px; font-weight: 600; margin: 0;}
.explorer-caption code, .explorer-caption .formula {font-family: var(--jp-code-font-family,
  monospace); background: var(--jp-layout-color2, #eee); color: inherit; padding: 1px 4px;
  border-radius: 3px;}
.explorer-caption .note, .explorer-caption .ok, .explorer-caption .bad,
.explorer-caption .impossible {color: inherit; padding: 0 6px; border-left: 4px solid;
  font-weight: 600;}
.explorer-caption .note {border-color: var(--jp-warn-color1, #f57c00); font-weight: normal;}
.explorer-caption .ok {border-color: var(--jp-success-color1, #388e3c);}
.explorer-caption .bad, .explorer-caption .impossible {
  border-color: var(--jp-error-color1, #d32f2f);}
.course-explorer .widget-image {width: auto; height: auto; object-fit: contain;}
body[data-jp-theme-light="false"] .course-explorer .widget-image {
  filter: invert(0.92) hue-rotate(180deg);}
.course-explorer .jupyter-widgets-disconnected::before {display: none !important;}
.course-explorer.jupyter-widgets-disconnected .explorer-controls {display: none !important;}
.course-explorer.jupyter-widgets-disconnected::before {display: block;
  content: "Saved picture, without its kernel: run this cell (Shift+Enter) to get its sliders "
           "back. It needs nothing from the cells above." !important;
  position: static !important; width: auto !important; height: auto !important;
  margin: 0 0 4px !important; font: 14px sans-serif !important;
  color: var(--jp-content-font-color1, #1a1a1a) !important; background: none !important;
  border-left: 4px solid var(--jp-warn-color1, #f57c00); padding: 2px 6px;}
</style>"""

#: The tallest a picture is drawn: with the controls and the caption, an explorer fits a
#: 1366x768 screen in JupyterLab (its bars take about 140 px of the height).
PICTURE_MAX_HEIGHT = "max(220px, calc(100vh - 470px))"


#: Pixels per inch of every picture; it is shown at 100 per inch (CSS), so sharper on HiDPI screens.
DPI = 150


class Canvas:
    """A matplotlib figure kept for the explorer's whole life and rendered to PNG bytes by Agg.

    Its static part (axes frames, ticks, legends, titles) is rendered once and kept as a
    background; each update restores it and draws only the artists of the axes' lists (images,
    collections, patches, lines, texts, artists), which ``reset`` empties. So axes with visible
    ticks must keep their limits, and per-update text goes through ``label``, not ``set_title``.
    """

    def __init__(self, width, height, dpi=None):
        self.figure = Figure(figsize=(width, height), dpi=dpi or DPI, facecolor="white")
        self.agg = FigureCanvasAgg(self.figure)
        self._background = None

    def fit(self, ax, xlim, ylim, cell=0.42, max_width=9.6):
        """Make a whole-figure diagram axes show ``xlim`` x ``ylim`` with square unit cells.

        A unit is ``cell`` inches, less when the diagram would be wider than ``max_width``;
        returns the unit actually used, in points (for font sizes).
        """
        width, height = xlim[1] - xlim[0], abs(ylim[1] - ylim[0])
        cell = min(cell, max_width / width)
        size = (round(width * cell, 2), round(height * cell, 2))
        ax.set_xlim(*xlim)
        ax.set_ylim(*ylim)
        if tuple(self.figure.get_size_inches()) != size:
            self.figure.set_size_inches(size)
            self._background = None
        return cell * 72

    def png(self):
        """The figure as PNG bytes: the kept background plus this update's artists."""
        updates = [(ax, dynamic_artists(ax)) for ax in self.figure.axes]
        if self._background is None:
            for _, artists in updates:
                for artist in artists:
                    artist.set_visible(False)
            self.agg.draw()
            self._background = self.agg.copy_from_bbox(self.figure.bbox)
            for _, artists in updates:
                for artist in artists:
                    artist.set_visible(True)
        else:
            self.agg.restore_region(self._background)
        renderer = self.agg.get_renderer()
        for ax, artists in updates:
            for artist in sorted(artists, key=lambda a: a.get_zorder()):
                artist.draw(renderer)
        return encode_png(np.asarray(self.agg.buffer_rgba())[..., :3])


def dynamic_artists(ax):
    """The artists that an update draws on ``ax`` (and ``reset`` removes)."""
    return [*ax.images, *ax.collections, *ax.patches, *ax.lines, *ax.texts, *ax.artists]


@lru_cache(maxsize=4096)
def text_bitmap(text, fontsize, color, dpi):
    """One line of ``text`` rasterised once: ``(rgba, descent)``.

    ``rgba`` is a uint8 array with its bottom row first (Agg's order); ``descent`` is how many
    pixels of it lie below the baseline.
    """
    font = get_font(findfont(FontProperties()))
    font.set_size(fontsize, dpi)
    font.set_text(text, 0.0)
    font.draw_glyphs_to_bitmap(antialiased=True)
    alpha = np.asarray(font.get_image())
    rgba = np.empty(alpha.shape + (4,), np.uint8)
    rgba[..., :3] = np.round(np.array(to_rgba(color)[:3]) * 255)
    rgba[..., 3] = alpha
    return np.ascontiguousarray(rgba[::-1]), font.get_descent() / 64


class Labels(Artist):
    """Many short texts drawn from cached bitmaps: ten times cheaper than ``ax.text`` each time.

    ``items`` are ``(x, y, text)`` in data coordinates; texts may span lines ("\\n"). ``ha``
    ('left', 'center', 'right') and ``va`` ('top', 'center', 'bottom') align each text on its
    point like matplotlib's texts; a one-line centred text is centred on its own ink. A text
    wider than ``max_width`` (data units) is drawn in a smaller font to fit.
    """
    ASCENT, DESCENT, LINE = 0.76, 0.24, 1.25  # of the font size: cap height, descent, spacing

    def __init__(self, items, fontsize=10, color=COLORS["text"], ha="center", va="center",
                 max_width=None, zorder=4):
        super().__init__()
        self.items, self.fontsize, self.color = list(items), round(fontsize * 2) / 2, color
        self.ha, self.va, self.max_width = ha, va, max_width
        self.set_zorder(zorder)

    def _bitmaps(self, text, dpi, room):
        """Each line's ``(bitmap, descent)`` at the font size that fits ``room`` pixels."""
        fontsize = self.fontsize
        lines = [text_bitmap(line, fontsize, self.color, dpi) for line in text.split("\n")]
        widest = max(bitmap.shape[1] for bitmap, _ in lines)
        if room is not None and widest > room and fontsize > 4:
            fontsize = max(4.0, int(2 * fontsize * room / widest) / 2)
            lines = [text_bitmap(line, fontsize, self.color, dpi) for line in text.split("\n")]
        return lines

    def draw(self, renderer):
        if not self.get_visible() or not self.items:
            return
        points = self.axes.transData.transform([(x, y) for x, y, _ in self.items])
        room = None
        if self.max_width is not None:
            (left, _), (right, _) = self.axes.transData.transform([(0, 0), (self.max_width, 0)])
            room = abs(right - left)
        size = self.fontsize * renderer.dpi / 72
        ascent, descent, spacing = self.ASCENT * size, self.DESCENT * size, self.LINE * size
        gc = renderer.new_gc()
        for (x, y), (_, _, text) in zip(points, self.items):
            lines = self._bitmaps(text, renderer.dpi, room)
            block = spacing * (len(lines) - 1)
            baseline = {"top": y - ascent, "bottom": y + descent + block,
                        "center": y + (block + ascent + descent) / 2 - ascent}[self.va]
            for i, (bitmap, below) in enumerate(lines):
                h, w, _ = bitmap.shape
                left = {"left": x, "center": x - w / 2, "right": x - w}[self.ha]
                bottom = baseline - i * spacing - below
                if self.va == "center" and len(lines) == 1:
                    bottom = y - h / 2
                renderer.draw_image(gc, round(left), round(bottom), bitmap)
        gc.restore()


def label(ax, x, y, text, **style):
    """Add one cached-bitmap text at data point ``(x, y)`` (see ``Labels`` for ``style``)."""
    ax.add_artist(Labels([(x, y, text)], **style))


def encode_png(rgb):
    """Encode an ``(h, w, 3)`` uint8 array as a PNG (no row filter, fast zlib level).

    Flat-coloured diagrams compress well without PNG's row filters, and skipping them makes
    encoding several times faster than Pillow's default.
    """
    h, w, _ = rgb.shape
    rows = np.zeros((h, 1 + 3 * w), np.uint8)  # each row starts with filter type 0 (none)
    rows[:, 1:].reshape(h, w, 3)[:] = rgb  # one copy, even from a strided view of RGBA

    def chunk(tag, data):
        return struct.pack(">I", len(data)) + tag + data + struct.pack(">I", zlib.crc32(tag + data))

    header = struct.pack(">IIBBBBB", w, h, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(rows, 1)) + chunk(b"IEND", b""))


def png_width(png):
    """The width in pixels of a PNG, read from its header."""
    return struct.unpack(">I", png[16:20])[0]


@contextlib.contextmanager
def single_thread():
    """Run torch on one thread: tiny tensors are much faster so on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    try:
        yield
    finally:
        torch.set_num_threads(threads)


def diagram_axes(canvas):
    """A frameless axes covering the whole figure, y growing downwards, for cell diagrams."""
    ax = canvas.figure.add_axes((0, 0, 1, 1))
    ax.set_axis_off()
    return ax




def note(text):
    """A short highlighted note in a caption."""
    return f'<span class="note">{text}</span>'


def plain(markup):
    """The text of a caption's HTML, for a text alternative: tags dropped, entities decoded."""
    return html.unescape(re.sub(r"<br\s*/?>", " ", re.sub(r"<(?!br)[^>]+>", "", markup))).strip()


class Picture(widgets.Image):
    """An image widget whose ``tooltip`` is its text alternative (the ``title`` that screen
    readers read). ipywidgets' view reads ``description`` to place a tooltip, which Image lacks."""
    description = Unicode("").tag(sync=True)


class Explorer(widgets.VBox):
    """The widget a chapter shows: controls on top, the figure as a PNG, a caption below.

    ``controls`` maps names to value widgets; on every change ``render(values)`` is called with
    ``{name: widget.value}`` and must return ``(png_bytes, caption_html, description)``;
    ``answers`` are the student's functions it calls, redrawn when a cell redefines one. Any
    error in rendering is shown in the caption instead of disappearing into the kernel log.
    """

    def __init__(self, title, controls, rows, render, intro="", answers=()):
        self.title = title
        self.controls = controls
        self.answers = tuple(answers)  # the student's functions it calls (yours.Answer)
        self._render = render
        self._used = None  # the definitions of ``answers`` at the last redraw
        self.error = None  # the last rendering error's traceback, None when all went well
        self.image = Picture(format="png", layout=widgets.Layout(
            max_height=PICTURE_MAX_HEIGHT))
        self.caption = Caption()
        header = widgets.HTML(f"{STYLE}<div class='explorer-caption'><p class='explorer-title' "
                              f"role='heading' aria-level='4'>{title}</p>{intro}</div>")
        for row in rows:
            row.layout.margin = "0 16px 2px 0"
        panel = widgets.HBox(rows, layout=widgets.Layout(flex_flow="row wrap"))
        panel.add_class("explorer-controls")
        super().__init__([header, panel, self.image, self.caption])
        self.add_class("course-explorer")
        for control in controls.values():
            control.observe(self._on_change, names="value")
        if os.environ.get("NBGRADER_EXECUTION"):
            return  # being graded (nbgrader sets this): nobody sees the picture, skip drawing it
        if self.answers:
            yours.watch(self)
        self.refresh()

    def __repr__(self):
        # the text a notebook shows where the widget cannot be drawn (no kernel, saved output)
        return f"{self.title}: an interactive explorer (run its cell to use it)"

    def _repr_mimebundle_(self, **kwargs):
        """The widget view and, beside it, a PNG of the figure as first drawn: what a page
        without the live widget shows (nbconvert's HTML, as in the feedback, picks it when no
        widget state is saved), with its text alternative in the PNG's metadata."""
        data = super()._repr_mimebundle_(**kwargs)
        if data is None or not self.image.value:
            return data
        data["image/png"] = base64.b64encode(self.image.value).decode("ascii")
        return data, {"image/png": {"alt": self.image.tooltip or self.title}}

    def values(self):
        """The current value of every control, by name."""
        return {name: control.value for name, control in self.controls.items()}

    def _on_change(self, change):
        self.refresh()

    def answers_changed(self):
        """Whether a cell run since the last redraw changed a definition the explorer uses."""
        return self._used != [answer.lookup()[0] for answer in self.answers]

    def refresh(self):
        """Redraw the figure, its text alternative and the caption for the current values.

        ``render`` returns ``(png, caption_html, description)``: ``description`` says in words
        what the picture shows (the image's text alternative, read by screen readers)."""
        self._used = [answer.lookup()[0] for answer in self.answers]
        try:
            with single_thread():
                png, caption, description = self._render(self.values())
        except Exception:  # keep the widget alive and tell the student what happened
            self.error = traceback.format_exc()
            lines = self.error.strip().splitlines()[-3:]
            failure = html.escape(" ".join(lines))
            self.caption.value = (f"{STYLE}<div class='explorer-caption'><span class='bad'>"
                                  f"✗ The explorer failed: {failure}</span></div>")
            return
        self.error = None
        if png is not None:
            self.image.value = png
            self.image.layout.max_width = f"min(100%, {round(png_width(png) * 100 / DPI)}px)"
        self.image.tooltip = f"Picture: {description}" if description else None
        self.caption.value = f"{STYLE}<div class='explorer-caption'>{caption}</div>"
