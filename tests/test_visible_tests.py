"""The visible tests teach: each classic mistake they can recognise gets its own hint before the
deadline, a function that calls the library routine that is its answer is told it scores 0,
and an honest answer passes them and is never told so. The hidden tests still decide the grade
(``test_hidden_tests.py``).
"""
import pytest
import torch
from IPython.core.interactiveshell import InteractiveShell

from course.checks import CheckFailed, expect_close
from tests.chapters import BUILT, variants
from tests.test_hidden_tests import cases, chapter, student_namespace

SCORES_ZERO = "it scores 0 when graded"
#: (chapter, function, the WRONG variant's label): what its visible test must say.
HINTS = {
    ("01_locality", "fc_param_count", "forgot the biases"): "biases forgotten?",
    ("01_locality", "fc_param_count", "ignores bias=False"): "bias=False ignored?",
    ("01_locality", "locally_connected_param_count", "4 delta squared window (the notes' erratum)"):
        "4 * delta**2",
    ("01_locality", "locally_connected_param_count", "weights shared between pixels"):
        "weights shared",
    ("01_locality", "conv_param_count", "forgot the input channels"): "input channels forgotten?",
    ("01_locality", "shift2d", "wraps around like torch.roll"): "torch.roll",
    ("01_locality", "shift2d", "dy and dx swapped"): "dy and dx swapped?",
    ("01_locality", "shift2d", "shifts X in place"): "in place",
    ("01_locality", "corr1d", "kernel flipped (true convolution)"): "kernel flipped",
    ("01_locality", "corr1d", "calls F.conv1d"): SCORES_ZERO,
    ("02_cross_correlation", "corr2d", "kernel flipped"): "kernel flipped?",
    ("02_cross_correlation", "corr2d", "kernel height and width swapped"): "height and width",
    ("02_cross_correlation", "corr2d", "lost the gradient with .item()"): "lost the gradient",
    ("02_cross_correlation", "corr2d", "library routine F.conv2d"): SCORES_ZERO,
    ("02_cross_correlation", "Conv2D", "library routine F.conv2d in forward"): SCORES_ZERO,
    ("02_cross_correlation", "Conv2D", "weight and bias as plain tensors, not nn.Parameter"):
        "nn.Parameter",
    ("02_cross_correlation", "edge_kernel", "vertical and horizontal swapped"):
        "vertical and horizontal swapped?",
    ("02_cross_correlation", "edge_kernel", "sign flipped"): "sign flipped?",
    ("02_cross_correlation", "edge_kernel", "KeyError instead of ValueError"): "ValueError",
    ("02_cross_correlation", "conv2d_true", "kernel not flipped (the notes' corr2d copied)"):
        "kernel not flipped?",
    ("02_cross_correlation", "conv2d_true", "kernel transposed instead of flipped"): "transposed",
    ("02_cross_correlation", "conv2d_true", "library routine F.conv2d"): SCORES_ZERO,
    ("02_cross_correlation", "corr2d_as_matrix", "matrix transposed"): "matrix transposed?",
    ("02_cross_correlation", "corr2d_as_matrix", "kernel flipped"): "kernel flipped?",
    ("02_cross_correlation", "receptive_field", "strides ignored"): "strides ignored?",
    ("02_cross_correlation", "receptive_field",
     "strides in the wrong order (first layer applied last)"): "wrong order?",
    ("03_padding_stride", "conv_output_shape", "padding counted once (the notes' total p_h)"):
        "padding counted once?",
    ("03_padding_stride", "conv_output_shape", "ceil instead of floor"): "ceil instead of floor?",
    ("03_padding_stride", "conv_output_shape", "height and width swapped"): "swapped?",
    ("03_padding_stride", "conv_output_shape", "runs a convolution to measure the shape"):
        SCORES_ZERO,
    ("03_padding_stride", "pad2d", "padding split in half (the notes' total)"):
        "padding split in half",
    ("03_padding_stride", "pad2d", "(p_h, p_w) swapped"): "(p_h, p_w) swapped?",
    ("03_padding_stride", "pad2d", "calls F.pad"): SCORES_ZERO,
    ("03_padding_stride", "corr2d_pad_stride", "kernel flipped"): "kernel flipped?",
    ("03_padding_stride", "corr2d_pad_stride", "stride (s_h, s_w) swapped"): "swapped?",
    ("03_padding_stride", "corr2d_pad_stride",
     "ceil output size: the last window hangs over the edge"): "ceil instead of floor?",
    ("03_padding_stride", "corr2d_pad_stride", "calls F.conv2d"): SCORES_ZERO,
    ("03_padding_stride", "mirror_pad2d", "edge replicated"): "edge replicated?",
    ("03_padding_stride", "mirror_pad2d", "calls F.pad(mode='reflect')"): SCORES_ZERO,
    ("04_channels", "corr2d_multi_in", "stacked channels instead of summing"): "not stacked",
    ("04_channels", "corr2d_multi_in", "kernel flipped"): "kernel flipped?",
    ("04_channels", "corr2d_multi_in", "averaged the channels"): "averaged the channels?",
    ("04_channels", "corr2d_multi_in", "calls F.conv2d"): SCORES_ZERO,
    ("04_channels", "corr2d_multi_in_out", "calls F.conv2d"): SCORES_ZERO,
    ("04_channels", "conv2d_macs", "ceil instead of floor"): "ceil instead of floor?",
    ("04_channels", "conv2d_macs", "height and width swapped"): "height and width swapped?",
    ("04_channels", "conv2d_macs", "ignores the stride"): "stride ignored?",
    ("04_channels", "compose_kernels", "calls F.conv_transpose2d"): SCORES_ZERO,
    ("05_pooling", "pool2d", "window height and width swapped"): "height and width swapped?",
    ("05_pooling", "pool2d", "sum instead of mean"): "sum instead of mean?",
    ("05_pooling", "pool2d", "calls F.max_pool2d"): SCORES_ZERO,
    ("05_pooling", "pool2d_pad_stride", "max pooling pads with zeros"): "padded zero?",
    ("05_pooling", "pool2d_pad_stride",
     "average ignores the padded cells (count_include_pad=False)"): "count_include_pad=True",
    ("05_pooling", "pool2d_pad_stride", "padding only at the bottom and right"):
        "padding only at the bottom and right?",
    ("05_pooling", "pool2d_pad_stride", "calls F.max_pool2d"): SCORES_ZERO,
    ("05_pooling", "pool2d_multi_channel", "calls F.max_pool2d"): SCORES_ZERO,
    ("05_pooling", "avg_pool_as_conv", "calls F.avg_pool2d"): SCORES_ZERO,
    ("05_pooling", "max_via_relu", "the minimum: a - relu(a - b)"): "the minimum?",
    ("05_pooling", "max_via_relu", "torch.maximum"): SCORES_ZERO,
    ("05_pooling", "max_via_relu", "torch.where"): SCORES_ZERO,
}


def visible_part(assignment, name):
    """The test cell of ``name`` as the student sees it (without its hidden tests)."""
    _, tests = chapter(assignment)
    return tests[f"test_{name}"].split("### BEGIN HIDDEN TESTS")[0]


def run_visible(assignment, name, source=None):
    """Run the visible test of ``name`` on the answer key, ``source`` (defining ``name``) on top."""
    names, _ = chapter(assignment)
    torch.manual_seed(0)
    namespace = student_namespace(names, name, source)
    graded = {"__name__": "__test_cell__", **{n: namespace[n] for n in names}}
    exec(compile(visible_part(assignment, name), f"<visible test_{name}>", "exec"), graded)


def wrong_variant(assignment, name, label):
    return dict(variants(assignment).WRONG[name])[label]


@pytest.mark.parametrize("assignment, name, label", sorted(HINTS))
def test_a_classic_mistake_gets_its_hint_from_the_visible_test(assignment, name, label):
    with pytest.raises(Exception) as failure:
        run_visible(assignment, name, wrong_variant(assignment, name, label))
    assert HINTS[assignment, name, label] in str(failure.value), str(failure.value)


@pytest.mark.parametrize("assignment, name, source", list(cases("HONEST")))
def test_an_honest_variant_passes_the_visible_test(assignment, name, source):
    run_visible(assignment, name, source)  # the library check included: never a false accusation


@pytest.mark.parametrize("assignment", BUILT)
def test_the_answer_key_passes_every_visible_test(assignment):
    names, _ = chapter(assignment)
    for name in names:
        run_visible(assignment, name)


def test_a_failed_check_shows_the_students_line_and_the_message_only():
    shell = InteractiveShell.instance()
    try:
        expect_close(torch.ones(2, 2), torch.zeros(2, 2), "corr2d(X, K)")
    except CheckFailed as error:
        lines = error._render_traceback_()
    else:
        raise AssertionError("expect_close passed on a wrong answer")
    text = "\n".join(lines)
    assert "course/checks.py" not in text and "test_visible_tests.py" in text, text
    assert lines[0] == "AssertionError: corr2d(X, K) is wrong at index (0, 0): got 1, expected 0"
    hinted = shell.run_cell("import torch\nfrom course.checks import expect_close\n"
                            "expect_close(torch.ones(2), torch.zeros(2), 'f(x)', "
                            "mistakes={'sign flipped?': torch.ones(2)})").error_in_exec
    assert str(hinted) == "sign flipped? — f(x) is [1, 1], expected [0, 0]", "the hint leads"
    result = shell.run_cell("from course.checks import expect_count\nexpect_count(3, 4, 'n')")
    assert isinstance(result.error_in_exec, CheckFailed)


def test_the_validate_dialog_gets_each_failed_cells_error_before_its_source():
    """nbgrader's dialog shows ``source`` first: ``course.validate`` puts the error there."""
    from course.validate import error_first
    result = {"failed": [{"source": "expect_close(a < b)", "raw_error":
                          "\x1b[0;31mAssertionError: sign flipped? — f(x) is 1\x1b[0m\n\nTraceback",
                          "error": "<span>…</span>"}]}
    (cell,) = error_first(result)["failed"]
    assert cell["source"].startswith("AssertionError: sign flipped? — f(x) is 1")
    assert cell["error"] == "expect_close(a &lt; b)"
    assert error_first({"changed": [{"source": "x"}]}) == {"changed": [{"source": "x"}]}
    long = {"failed": [{"source": "", "raw_error": "AssertionError: " + "word " * 40}]}
    lines = error_first(long)["failed"][0]["source"].splitlines()
    assert len(lines) > 1 and max(map(len, lines)) <= 90, "wrapped: the dialog does not wrap"
