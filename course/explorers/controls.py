"""The explorers' controls, with one look: aligned sliders in titled columns."""
import ipywidgets as widgets


#: Every slider's label width and total width, so that the tracks of a column line up.
SLIDER_STYLE = {"description_width": "120px"}
SLIDER_WIDTH = "320px"


def int_slider(description, value, low, high, **kwargs):
    """An integer slider with the explorers' look (aligned labels, continuous updates)."""
    return widgets.IntSlider(value=value, min=low, max=high, description=description,
                             style=SLIDER_STYLE, layout=widgets.Layout(width=SLIDER_WIDTH),
                             **kwargs)


def column(title, *children):
    """A titled column of controls."""
    return widgets.VBox([widgets.HTML(f"<b>{title}</b>"), *children])
