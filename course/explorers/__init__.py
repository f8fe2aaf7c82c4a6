"""Interactive explorers, one or two per chapter: sliders and a live picture of each formula.

Each function returns an ipywidgets widget; make it the last expression of a cell to show it.
Pass your own function (e.g. ``padding_stride_explorer(conv_output_shape)``) to see your
answer next to PyTorch's; a missing function or a stub only adds a short note.
"""
from course.explorers.channels import channels_explorer
from course.explorers.correlation import correlation_explorer
from course.explorers.locality import locality_explorer
from course.explorers.padding_stride import padding_stride_explorer
from course.explorers.pooling import pooling_explorer
from course.explorers.training import kernel_training_explorer

__all__ = ["locality_explorer", "correlation_explorer", "kernel_training_explorer",
           "padding_stride_explorer", "channels_explorer", "pooling_explorer"]
