"""The explorers' controls, with one look: aligned sliders in titled columns, and their
``Caption``, a live region: a screen reader reads it again when a slider changes it.

``Slider`` is a native ``<input type="range">`` with a ``<label>`` (an anywidget): screen
readers read its name and value, and the keyboard moves it (arrows, Page Up/Down, Home/End),
also in a notebook, whose shortcuts would otherwise take the arrows.
ipywidgets' own sliders give their handle no accessible name (WCAG 4.1.2).
"""
import anywidget
import ipywidgets as widgets
import traitlets

#: Every control's label width and total width, so that the tracks of a column line up.
LABEL_WIDTH = "110px"
SLIDER_STYLE = {"description_width": LABEL_WIDTH}
SLIDER_WIDTH = "300px"

_ESM = """
let count = 0;
function render({ model, el }) {
  const id = `course-slider-${Date.now().toString(36)}-${count++}`;
  const label = document.createElement("label");
  const input = document.createElement("input");
  const output = document.createElement("output");
  label.htmlFor = input.id = id;
  output.htmlFor = id;
  input.type = "range";
  input.step = 1;
  el.classList.add("course-slider");
  // the notebook around it takes arrow keys (to move between cells): keep the slider's own
  const keys = ["ArrowLeft", "ArrowRight", "ArrowUp", "ArrowDown", "Home", "End", "PageUp",
                "PageDown"];
  input.addEventListener("keydown", (event) => {
    if (keys.includes(event.key)) event.stopPropagation();
  });
  el.append(label, input, output);
  const text = (value) => model.get("labels")[model.get("options").indexOf(value)] ?? String(value);
  const draw = () => {
    const options = model.get("options");
    label.textContent = model.get("description");
    input.min = 0;
    input.max = Math.max(options.length - 1, 0);
    input.value = Math.max(options.indexOf(model.get("value")), 0);
    input.disabled = model.get("disabled");
    input.setAttribute("aria-valuetext", text(model.get("value")));
    output.textContent = text(model.get("value"));
  };
  input.addEventListener("input", () => {
    model.set("value", model.get("options")[Number(input.value)]);
    model.save_changes();
  });
  model.on("change:value", draw);
  model.on("change:options", draw);
  model.on("change:labels", draw);
  model.on("change:description", draw);
  model.on("change:disabled", draw);
  draw();
}
export default { render };
"""

_CSS = """
.course-slider {display: flex; align-items: center; gap: 8px; margin: 0; padding: 2px 0;
  width: var(--course-slider-width, 300px);
  color: var(--jp-widgets-label-color, var(--jp-content-font-color1, #1a1a1a));
  font-size: var(--jp-widgets-font-size, 13px);}
.course-slider label {flex: 0 0 110px; text-align: right; overflow: hidden;
  text-overflow: ellipsis; white-space: nowrap;}
.course-slider input {flex: 1 1 auto; min-width: 60px; margin: 0;
  accent-color: var(--jp-brand-color1, #1976d2);}
.course-slider input:focus-visible {outline: 2px solid var(--jp-brand-color1, #1976d2);
  outline-offset: 2px;}
.course-slider output {flex: 0 0 3.5em; font-variant-numeric: tabular-nums;}
"""


class Slider(anywidget.AnyWidget):
    """A labelled, keyboard-operable slider over ``options`` (numbers, in order).

    ``labels`` are how the values are read out (default: the numbers). ``min`` and ``max``
    rebuild the options of an integer slider, clamping ``value`` into them.
    """
    _esm = _ESM
    _css = _CSS
    description = traitlets.Unicode("").tag(sync=True)
    options = traitlets.List().tag(sync=True)
    labels = traitlets.List().tag(sync=True)
    value = traitlets.Any().tag(sync=True)
    disabled = traitlets.Bool(False).tag(sync=True)

    @traitlets.validate("value")
    def _known(self, proposal):
        value = proposal["value"]
        if value not in self.options:  # the nearest option, as a range input would
            value = min(self.options, key=lambda option: abs(option - value))
        return value

    @property
    def min(self):
        return self.options[0]

    @property
    def max(self):
        return self.options[-1]

    @max.setter
    def max(self, high):
        """An integer slider's new upper end; the value is clamped to it."""
        if self.value > high:
            self.value = high
        self.options = list(range(self.min, high + 1))


_CAPTION_ESM = """
function render({ model, el }) {
  // a polite live region that stays in place: its new text is read when the student pauses
  el.setAttribute("role", "status");
  el.setAttribute("aria-live", "polite");
  el.setAttribute("aria-atomic", "true");
  const draw = () => { el.innerHTML = model.get("value"); };
  model.on("change:value", draw);
  draw();
}
export default { render };
"""


class Caption(anywidget.AnyWidget):
    """HTML ``value`` (the explorer's own markup) in a polite live region (``role=status``):
    ipywidgets' HTML has no ARIA attributes, and a live region must exist before its text
    changes to be heard."""
    _esm = _CAPTION_ESM
    value = traitlets.Unicode("").tag(sync=True)


def int_slider(description, value, low, high):
    """An integer slider from ``low`` to ``high`` with the explorers' look."""
    return Slider(description=description, options=list(range(low, high + 1)), value=value)


def selection_slider(description, options, value, labels=None):
    """A slider over ``options`` (numbers in order), read out as ``labels``."""
    return Slider(description=description, options=list(options), value=value,
                  labels=list(labels or []))


def column(title, *children):
    """A titled column of controls."""
    return widgets.VBox([widgets.HTML(f"<b>{title}</b>"), *children])
