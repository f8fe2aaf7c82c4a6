"""The widget explorers: their pure state functions, their drawing at every slider extreme, and
how they treat a student's function (missing, stub, broken, wrong, right). Headless (Agg)."""
import io
import math

import ipywidgets as widgets
import numpy as np
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st
from PIL import Image
from torch import nn

from course import explorers
from course.explorers import _base, bench, yours
from course.explorers.channels import channels_state
from course.explorers.correlation import (INPUTS, KERNELS, correlation_state, parse_kernel,
                                          sum_of_products)
from course.explorers.locality import in_words, locality_state, scene
from course.explorers.padding_stride import padding_stride_state, same_shape
from course.explorers.pooling import explain, pooling_state
from course.explorers.training import stripe_data, training_state

NOTES_X = torch.arange(9.0).reshape(3, 3)
NOTES_K = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
NOTES_16 = torch.arange(16.0).reshape(4, 4)


def stub(*args, **kwargs):
    raise NotImplementedError()


def broken(*args, **kwargs):
    raise IndexError("index 3 is out of bounds")


def honest_corr2d(X, K):
    """A student's own cross-correlation (unfold), no library routine that is the answer."""
    windows = X.unfold(0, K.shape[0], 1).unfold(1, K.shape[1], 1)
    return (windows * K).sum(dim=(-2, -1))


def honest_pool(X, pool_size, stride=None, padding=0, mode="max"):
    """A student's own pooling: pad by hand (-inf for max), then unfold."""
    p_h, p_w = pool_size if isinstance(pool_size, tuple) else (pool_size, pool_size)
    s_h, s_w = stride if isinstance(stride, tuple) else (stride or p_h, stride or p_w)
    pad_h, pad_w = padding if isinstance(padding, tuple) else (padding, padding)
    fill = -math.inf if mode == "max" else 0.0
    padded = torch.full((X.shape[0] + 2 * pad_h, X.shape[1] + 2 * pad_w), fill)
    padded[pad_h:pad_h + X.shape[0], pad_w:pad_w + X.shape[1]] = X
    windows = padded.unfold(0, p_h, s_h).unfold(1, p_w, s_w)
    return windows.amax(dim=(-2, -1)) if mode == "max" else windows.mean(dim=(-2, -1))


def decode(png):
    """The PNG bytes as an (h, w, 3) array; fails if they are not a valid PNG."""
    return np.asarray(Image.open(io.BytesIO(png)).convert("RGB"))


# --- chapter 01: locality ------------------------------------------------------------------

@pytest.mark.parametrize("n, delta", [(4, 0), (4, 1), (8, 2), (32, 3)])
def test_locality_counts_match_torch_layers(n, delta):
    state = locality_state(n, delta)
    dense = nn.Linear(n * n, n * n)
    conv = nn.Conv2d(1, 1, 2 * delta + 1)
    assert state.counts["dense"] == sum(p.numel() for p in dense.parameters())
    assert state.counts["convolution"] == sum(p.numel() for p in conv.parameters())
    assert state.counts["locally connected"] == n * n * (2 * delta + 1) ** 2 + n * n


def test_locality_window_is_centred_and_2delta_plus_1_wide():
    state = locality_state(16, 3)
    top, left, side = state.window
    assert side == state.side == 7
    assert (top + side // 2, left + side // 2) == (8, 8)


def test_locality_window_never_outgrows_the_image():
    explorer = make("locality_explorer")
    explorer.controls["delta"].value = 10
    explorer.controls["n"].value = 4
    assert explorer.controls["delta"].value == explorer.controls["delta"].max == 1
    check_drawn(explorer, "n=4")


def test_locality_counts_order_dense_local_conv():
    for n in (8, 1024):
        counts = locality_state(n, 2).counts
        assert counts["dense"] > counts["locally connected"] > counts["convolution"]
    assert locality_state(1024, 0).counts["dense"] > 1e12  # D2L's "trillion parameters"


def test_counts_in_words():
    assert [in_words(c) for c in (26, 26_624, 16_781_312, 1_099_512_676_352)] == [
        "26", "26,624", "16.8 million", "1.1 trillion"]


@pytest.mark.parametrize("n", [4, 256])
def test_scene_is_an_rgb_image(n):
    image = scene(n)
    assert image.shape == (n, n, 3)
    assert 0 <= image.min() and image.max() <= 1 and image.std() > 0.05


# --- chapter 02: cross-correlation and learning a kernel -----------------------------------

def test_correlation_reproduces_the_notes_example():
    state = correlation_state(NOTES_X, NOTES_K, 1, 1)
    assert state.Y.tolist() == [[19.0, 25.0], [37.0, 43.0]]
    assert state.products == ((4.0, 0.0), (5.0, 1.0), (7.0, 2.0), (8.0, 3.0))
    assert state.value == 43.0
    assert sum_of_products(state) == "4·0 + 5·1 + 7·2 + 8·3 = 43"


def test_correlation_edge_kernel_on_the_stripe():
    X = INPUTS["the notes' stripe (6×8)"]
    state = correlation_state(X, KERNELS["edge [1, −1]"], 3, 1)
    assert state.Y.shape == (6, 7)
    assert state.Y[0].tolist() == [0, 1, 0, 0, 0, -1, 0]
    assert sum_of_products(state) == "1·1 + 0·(−1) = 1"
    assert correlation_state(X, KERNELS["edge [1, −1]"], 0, 5).value == -1


def test_correlation_clamps_the_cell_and_rejects_a_kernel_larger_than_the_input():
    assert (correlation_state(NOTES_X, NOTES_K, 9, -3).row,
            correlation_state(NOTES_X, NOTES_K, 9, -3).col) == (1, 0)
    state = correlation_state(NOTES_X, torch.ones(4, 2), 0, 0)
    assert state.Y is None and state.products == () and math.isnan(state.value)


@given(st.integers(1, 6), st.integers(1, 6), st.integers(1, 3), st.integers(1, 3),
       st.integers(0, 5), st.integers(0, 5))
@settings(max_examples=40, deadline=None)
def test_correlation_value_is_the_sum_of_the_window_products(n_h, n_w, k_h, k_w, row, col):
    g = torch.Generator().manual_seed(n_h * 100 + n_w * 10 + k_h)
    X, K = torch.randn(n_h, n_w, generator=g), torch.randn(k_h, k_w, generator=g)
    state = correlation_state(X, K, row, col)
    if k_h > n_h or k_w > n_w:
        assert state.Y is None
        return
    assert state.Y.shape == (n_h - k_h + 1, n_w - k_w + 1)
    assert math.isclose(sum(x * k for x, k in state.products), state.value, abs_tol=1e-4)


def test_parse_kernel_reads_rows_and_rejects_nonsense():
    assert parse_kernel("1, 0; 0 -1").tolist() == [[1, 0], [0, -1]]
    assert parse_kernel("0.5\n-2").shape == (2, 1)
    for text in ("", "1, 2; 3", "a, b", "1 1 1 1 1 1"):
        with pytest.raises(ValueError):
            parse_kernel(text)


def test_training_learns_the_notes_kernel_at_the_notes_learning_rate():
    state = training_state(3e-2, 10)
    assert len(state.losses) == 10 and state.weights.shape == (11, 2)
    assert state.losses[-1] < state.losses[0] / 100
    assert torch.allclose(state.weights[-1], torch.tensor([1.0, -1.0]), atol=0.1)
    X, Y = stripe_data()
    assert state.Y_hat.shape == Y.shape and not state.diverged


def test_training_is_reproducible_and_diverges_at_a_large_learning_rate():
    assert training_state(0.05, 7, seed=3).losses == training_state(0.05, 7, seed=3).losses
    assert training_state(0.05, 7, seed=3).losses != training_state(0.05, 7, seed=4).losses
    assert training_state(1.0, 50).diverged


# --- chapter 03: padding and stride --------------------------------------------------------

@pytest.mark.parametrize("shape, kernel, padding, stride, expected", [
    ((8, 8), (3, 3), (1, 1), (1, 1), (8, 8)),      # the notes' examples
    ((8, 8), (5, 3), (2, 1), (1, 1), (8, 8)),
    ((8, 8), (3, 3), (1, 1), (2, 2), (4, 4)),
    ((8, 8), (3, 5), (0, 1), (3, 4), (2, 2)),
    ((5, 7), (8, 7), (1, 0), (1, 1), None),        # too large: 8 > 5 + 2 rows
])
def test_padding_stride_output_shape(shape, kernel, padding, stride, expected):
    state = padding_stride_state(shape, kernel, padding, stride)
    assert state.output_shape == expected
    assert state.fits == (expected is not None)
    assert state.padded_shape == (shape[0] + 2 * padding[0], shape[1] + 2 * padding[1])


@given(st.integers(1, 12), st.integers(1, 12), st.integers(1, 7), st.integers(1, 7),
       st.integers(0, 3), st.integers(0, 3), st.integers(1, 4), st.integers(1, 4))
@settings(max_examples=60, deadline=None)
def test_padding_stride_windows_match_the_formula(n_h, n_w, k_h, k_w, p_h, p_w, s_h, s_w):
    state = padding_stride_state((n_h, n_w), (k_h, k_w), (p_h, p_w), (s_h, s_w))
    rows = (n_h - k_h + 2 * p_h + s_h) // s_h
    cols = (n_w - k_w + 2 * p_w + s_w) // s_w
    assert state.fits == (rows >= 1 and cols >= 1)
    assert state.formula(0).endswith(f"= {rows}".replace("-", "−"))
    assert state.formula(1).endswith(f"= {cols}".replace("-", "−"))
    if state.fits:
        assert state.output_shape == (rows, cols)
        assert (len(state.window_rows), len(state.window_cols)) == (rows, cols)
        assert state.window_rows[-1] + k_h <= n_h + 2 * p_h
        assert state.covered[:k_h, :k_w].all()


def test_padding_stride_marks_rows_that_no_window_sees():
    state = padding_stride_state((8, 8), (3, 3), (0, 0), (2, 2))  # windows at 0, 2, 4
    assert state.covered[:7].any(axis=1).all() and not state.covered[7].any()
    assert state.unseen.sum() == 15  # the last row and the last column
    assert not padding_stride_state((8, 8), (3, 3), (1, 1), (2, 2)).unseen.any()
    assert state.formula(0) == "⌊(8 − 3 + 2·0 + 2) / 2⌋ = ⌊7 / 2⌋ = 3"


def test_same_shape_accepts_any_pair_of_ints():
    assert same_shape((4, 4), (4, 4)) and same_shape([4, 4], (4, 4))
    assert same_shape(torch.Size([2, 3]), (2, 3))
    assert not same_shape((3, 4), (4, 4)) and not same_shape(None, (4, 4))
    assert not same_shape(("four", 4), (4, 4))


# --- chapter 04: channels ------------------------------------------------------------------

@pytest.mark.parametrize("c_i, c_o, k, n",
                         [(2, 3, 2, 3), (1, 1, 1, 1), (8, 8, 7, 64), (3, 2, 1, 5)])
def test_channels_counts_match_nn_conv2d(c_i, c_o, k, n):
    state = channels_state(c_i, c_o, k, n)
    conv = nn.Conv2d(c_i, c_o, k)
    assert state.kernel.shape == conv.weight.shape
    assert state.params == sum(p.numel() for p in conv.parameters())
    out = conv(torch.zeros(1, c_i, n, n)).shape[-1]
    assert state.output_size == out
    assert state.macs == c_o * c_i * k * k * out * out
    assert state.mixing.shape == (c_o, c_i)


def test_channels_notes_example_and_a_kernel_too_large():
    state = channels_state(2, 3, 2, 3)
    assert (state.params, state.macs) == (27, 96)
    state = channels_state(2, 3, 5, 3)
    assert (state.output_size, state.macs) == (0, 0)


# --- chapter 05: pooling -------------------------------------------------------------------

@pytest.mark.parametrize("pool_size, stride, padding, mode, expected", [
    ((2, 2), (1, 1), (0, 0), "max", [[4, 5], [7, 8]]),       # the notes, 3x3 input
    ((2, 2), (1, 1), (0, 0), "avg", [[2, 3], [5, 6]]),
])
def test_pooling_notes_3x3(pool_size, stride, padding, mode, expected):
    assert pooling_state(NOTES_X, pool_size, stride, padding, mode).Y.tolist() == expected


@pytest.mark.parametrize("pool_size, stride, padding, expected", [
    ((3, 3), (3, 3), (0, 0), [[10]]),                         # nn.MaxPool2d(3)
    ((3, 3), (2, 2), (1, 1), [[5, 7], [13, 15]]),             # padding=1, stride=2
    ((2, 3), (2, 3), (0, 1), [[5, 7], [13, 15]]),             # rectangular window
])
def test_pooling_notes_4x4(pool_size, stride, padding, expected):
    state = pooling_state(NOTES_16, pool_size, stride, padding, "max")
    assert state.Y.tolist() == expected
    for (r, c), value in zip(state.sources, state.Y.flatten().tolist()):
        assert NOTES_16[r, c] == value


def test_pooling_max_never_picks_padding_and_avg_counts_padded_zeros():
    X = -torch.ones(3, 3)
    state = pooling_state(X, (3, 3), (1, 1), (1, 1), "max")
    assert (state.Y == -1).all()
    assert all(0 <= r < 3 and 0 <= c < 3 for r, c in state.sources)
    assert "never picked" in explain(state)
    state = pooling_state(X, (3, 3), (1, 1), (1, 1), "avg", row=0, col=0)
    assert math.isclose(state.Y[0, 0].item(), -4 / 9, abs_tol=1e-6)
    assert state.window_values().count(None) == 5
    assert "/ 9" in explain(state) and "count_include_pad" in explain(state)


def test_pooling_explains_the_chosen_cell():
    state = pooling_state(NOTES_16, (2, 2), (2, 2), (0, 0), "max", row=1, col=0)
    assert state.window == (2, 0)
    assert explain(state) == "max(8, 9, 12, 13) = 13"
    state = pooling_state(-NOTES_16, (2, 2), (2, 2), (0, 0), "avg", row=0, col=1)
    assert explain(state) == "(−2 − 3 − 6 − 7) / 4 = −4.5"


def test_pooling_impossible_settings_say_why():
    state = pooling_state(NOTES_16, (2, 2), (2, 2), (2, 0), "max")
    assert state.Y is None and "half the window" in state.problem
    state = pooling_state(NOTES_X, (4, 4), (1, 1), (0, 0), "avg")
    assert state.Y is None and "larger" in state.problem


@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 4), st.integers(1, 4),
       st.integers(0, 2), st.integers(0, 2), st.sampled_from(["max", "avg"]))
@settings(max_examples=60, deadline=None)
def test_pooling_state_matches_torch(p_h, p_w, s_h, s_w, pad_h, pad_w, mode):
    g = torch.Generator().manual_seed(p_h + 7 * s_w)
    X = torch.randint(-9, 10, (5, 6), generator=g).float()
    state = pooling_state(X, (p_h, p_w), (s_h, s_w), (pad_h, pad_w), mode)
    if pad_h > p_h // 2 or pad_w > p_w // 2 or p_h > 5 + 2 * pad_h or p_w > 6 + 2 * pad_w:
        assert state.Y is None and state.problem
        return
    layer = (nn.MaxPool2d if mode == "max" else nn.AvgPool2d)((p_h, p_w), (s_h, s_w),
                                                               (pad_h, pad_w))
    assert torch.allclose(state.Y, layer(X[None, None])[0, 0])


# --- shared helpers ------------------------------------------------------------------------

def test_call_student_reports_missing_stub_and_broken_functions():
    result, why, *_ = yours.call_student(None, 1)
    assert result is None and "pass your function" in why
    result, why, *_ = yours.call_student(stub, 1)
    assert result is None and "still a stub" in why
    result, why, *_ = yours.call_student(broken)
    assert result is None and "IndexError" in why and "out of bounds" in why
    assert yours.call_student(lambda a, b=0: a + b, 1, b=2)[:3] == (3, None, "")


def test_call_student_says_when_a_right_answer_calls_the_library():
    X, K = torch.arange(9.0).reshape(3, 3), torch.tensor([[0.0, 1.0], [2.0, 3.0]])
    call = yours.call_student(bench.library_corr2d, X, K, graded="corr2d")
    assert "it scores 0" in call.library and "F.conv2d" in call.library
    assert not yours.call_student(honest_corr2d, X, K, graded="corr2d").library


def test_compare_outputs_verdicts():
    Y = torch.tensor([[1.0, 2.0], [3.0, 4.0]])
    result, html = yours.compare_outputs(Y.double()[None, None], Y)
    assert result.shape == (2, 2) and "✓" in html
    result, html = yours.compare_outputs(Y, Y, library="corr2d calls F.conv2d")
    assert "✓" not in html and "matches PyTorch, but corr2d calls F.conv2d" in html
    result, html = yours.compare_outputs(Y + torch.tensor([[0, 0], [0, 1.0]]), Y)
    assert "✗" in html and "1 cell" in html
    result, html = yours.compare_outputs(Y.T[:1], Y)
    assert "✗" in html and "(1, 2)" in html
    result, html = yours.compare_outputs("19 25", Y)
    assert result is None and "✗" in html


def test_encode_png_is_lossless():
    rgb = np.random.default_rng(0).integers(0, 256, (7, 5, 3), dtype=np.uint8)
    assert (decode(_base.encode_png(rgb)) == rgb).all()


def test_labels_are_drawn_upright_where_they_belong():
    canvas = _base.Canvas(2, 2)
    ax = _base.diagram_axes(canvas)
    canvas.fit(ax, (0, 2), (2, 0), cell=1.0)
    _base.label(ax, 1.5, 0.5, "T", fontsize=40)  # top-right cell
    pixels = decode(canvas.png()).min(axis=2)
    rows, cols = np.nonzero(pixels < 128)
    h, w = pixels.shape
    assert rows.min() < h / 2 and cols.min() > w / 2  # in the top-right quarter
    top_bar = (pixels[rows.min()] < 128).sum()
    bottom = (pixels[rows.max()] < 128).sum()
    assert top_bar > 2 * bottom  # the T's bar is on top: not flipped


# --- the widgets ---------------------------------------------------------------------------

def make(name, function=None):
    """A fresh explorer by its public name, with the student's ``function`` if it takes one."""
    factory = getattr(explorers, name)
    return factory(function) if function is not None else factory()


ALL = ["locality_explorer", "correlation_explorer", "kernel_training_explorer",
       "padding_stride_explorer", "channels_explorer", "pooling_explorer"]


def check_drawn(explorer, where):
    assert explorer.error is None, f"{where}: {explorer.error}"
    assert decode(explorer.image.value).shape[0] > 50, where
    assert "failed" not in explorer.caption.value, where


@pytest.mark.parametrize("name", ALL)
def test_every_slider_extreme_draws(name):
    explorer = bench.EXPLORERS[name]()
    assert isinstance(explorer, widgets.Widget)
    check_drawn(explorer, "start")
    start = explorer.image.value
    changed = False
    for control, value in bench.slider_moves(explorer):
        control.value = value
        check_drawn(explorer, f"{control.description}={value!r}")
        changed |= explorer.image.value != start
    assert changed, "moving the sliders never changed the picture"
    for extreme in (0, 1):  # every slider at its minimum together, then at its maximum
        for control, value in bench.slider_moves(explorer)[extreme::3]:
            control.value = value
        check_drawn(explorer, f"all sliders at {'min' if extreme == 0 else 'max'}")


@pytest.mark.parametrize("name", ["correlation_explorer", "padding_stride_explorer",
                                  "pooling_explorer"])
def test_a_missing_stub_or_broken_function_leaves_a_working_explorer(name):
    for function, expected in ((None, "pass your function"), (stub, "still a stub"),
                               (broken, "IndexError")):
        explorer = make(name, function)
        check_drawn(explorer, f"{function}")
        assert expected in explorer.caption.value


def test_right_and_wrong_answers_get_verdicts():
    good = make("correlation_explorer", honest_corr2d)
    assert "✓" in good.caption.value
    library = make("correlation_explorer", bench.library_corr2d)
    assert "✓" not in library.caption.value and "scores 0" in library.caption.value
    library = make("pooling_explorer", bench.library_pool)
    assert "✓" not in library.caption.value and "scores 0" in library.caption.value
    flipped = make("correlation_explorer", lambda X, K: honest_corr2d(X, K.flip(0, 1)))
    assert "✗" in flipped.caption.value and "differ" in flipped.caption.value
    good = make("padding_stride_explorer", lambda n, k, p, s: tuple(
        (n[i] - k[i] + 2 * p[i] + s[i]) // s[i] for i in range(2)))
    assert "✓ same as PyTorch" in good.caption.value
    library = make("padding_stride_explorer", bench.library_output_shape)  # runs a convolution
    assert "✓" not in library.caption.value and "scores 0" in library.caption.value
    ceil = make("padding_stride_explorer", lambda n, k, p, s: (5, 5))
    assert "✗" in ceil.caption.value
    good = make("pooling_explorer", honest_pool)
    assert "✓" in good.caption.value
    good.controls["mode"].value = "avg"
    assert "✓" in good.caption.value
    always_max = make("pooling_explorer", lambda X, p, stride, padding, mode:
                      honest_pool(X, p, stride, padding, "max"))
    always_max.controls["mode"].value = "avg"
    assert "✗" in always_max.caption.value


def test_impossible_settings_show_a_message_not_a_crash():
    explorer = make("padding_stride_explorer")
    c = explorer.controls
    c["n_h"].value, c["p_h"].value, c["k_h"].value = 1, 0, 7
    check_drawn(explorer, "7-row kernel on a 1-row input")
    assert "Impossible" in explorer.caption.value
    explorer = make("pooling_explorer")
    explorer.controls["pad_h"].value, explorer.controls["p_h"].value = 2, 1
    check_drawn(explorer, "padding larger than half the window")
    assert "No output" in explorer.caption.value
    explorer = make("correlation_explorer")
    explorer.controls["own"].value = "1 2 3 4 5; 1 2 3 4 5"
    explorer.controls["kernel"].value = "your own"
    check_drawn(explorer, "2x5 kernel on a 3x3 input")
    assert "no position fits" in explorer.caption.value
    explorer.controls["own"].value = "1, 2; 3"
    assert explorer.error is None and "same number of entries" in explorer.caption.value


def test_sliders_follow_the_output_shape():
    explorer = make("correlation_explorer")
    explorer.controls["input"].value = "the notes' stripe (6×8)"
    explorer.controls["kernel"].value = "edge [1, −1]"
    assert (explorer.controls["row"].max, explorer.controls["col"].max) == (5, 6)
    explorer.controls["col"].value = 6
    explorer.controls["input"].value = "the notes' X (3×3)"
    assert explorer.controls["col"].max == 1 and explorer.controls["col"].value == 1
    check_drawn(explorer, "after shrinking the output")


def test_torch_threads_are_restored_after_an_update():
    threads = torch.get_num_threads()
    explorer = make("channels_explorer")
    explorer.controls["k"].value = 3
    assert torch.get_num_threads() == threads


def test_the_image_is_shown_at_100_css_pixels_per_inch_at_most():
    explorer = make("padding_stride_explorer")
    for n_w in (8, 12):
        explorer.controls["n_w"].value = n_w
        inches = explorer.image.value and decode(explorer.image.value).shape[1] / _base.DPI
        assert explorer.image.layout.max_width == f"min(100%, {round(100 * inches)}px)"
    assert explorer.image.layout.max_height == _base.PICTURE_MAX_HEIGHT


def test_the_plain_text_of_an_explorer_is_short_and_friendly():
    bundle, _ = make("channels_explorer")._repr_mimebundle_()
    assert bundle["text/plain"] == ("Multiple input and output channels: an interactive explorer "
                                    "(run its cell to use it)")


def test_a_page_without_the_live_widget_shows_the_first_picture():
    """The display carries a PNG of the first state beside the widget view: nbconvert's HTML
    (the feedback page) shows it when no widget state is saved, and the widget when it is."""
    import base64

    import nbformat
    from nbconvert import HTMLExporter

    explorer = make("channels_explorer")
    bundle, metadata = explorer._repr_mimebundle_()
    assert base64.b64decode(bundle["image/png"]) == explorer.image.value
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("channels_explorer()", outputs=[
        nbformat.v4.new_output("display_data", data=bundle, metadata=metadata)])])
    page, _ = HTMLExporter().from_notebook_node(nb)
    assert f"data:image/png;base64,{bundle['image/png']}" in page
    classic, _ = HTMLExporter(template_name="classic").from_notebook_node(nb)  # the feedback's
    assert 'alt="Picture: A stack of 2 input channels of 3×3' in classic
    model_id = bundle["application/vnd.jupyter.widget-view+json"]["model_id"]
    nb.metadata["widgets"] = {"application/vnd.jupyter.widget-state+json": {
        "state": {model_id: {}}, "version_major": 2, "version_minor": 0}}
    page, _ = HTMLExporter().from_notebook_node(nb)
    assert f"data:image/png;base64,{bundle['image/png']}" not in page


def test_the_training_explorer_opens_at_the_notebooks_run():
    """Seed 27 and lr 0.03, as the notes' loop in the cell above it: the same losses."""
    explorer = make("kernel_training_explorer")
    assert explorer.values() == {"lr": 0.03, "epochs": 10, "seed": 27}
    torch.manual_seed(27)
    conv2d = nn.Conv2d(1, 1, kernel_size=(1, 2), bias=False)
    X, Y = stripe_data()
    losses = []
    for _ in range(10):
        loss = ((conv2d(X[None, None]) - Y) ** 2).sum()
        conv2d.zero_grad()
        loss.backward()
        conv2d.weight.data[:] -= 0.03 * conv2d.weight.grad
        losses.append(loss.item())
    assert training_state(0.03, 10, 27).losses == pytest.approx(losses, rel=1e-5)


# --- the student's current answer, in a notebook ---------------------------------------------

@pytest.fixture
def shell():
    """A real IPython shell, as a notebook's kernel has: cells run in its namespace."""
    from IPython.core.interactiveshell import InteractiveShell

    shell = InteractiveShell.instance()
    shell.run_cell("import torch\nfrom torch.nn import functional as F")
    yield shell
    yours._WATCHED.clear()
    InteractiveShell.clear_instance()


def run(shell, code):
    """Run ``code`` as the next cell; fail on an error."""
    result = shell.run_cell(code, store_history=True)
    assert result.success, result.error_in_exec or result.error_before_exec


CORR2D = {
    "right": "def corr2d(X, K):\n    w = X.unfold(0, K.shape[0], 1).unfold(1, K.shape[1], 1)\n"
             "    return (w * K).sum(dim=(-2, -1))",
    "wrong": "def corr2d(X, K):\n    K = K.flip(0, 1)\n    w = X.unfold(0, K.shape[0], 1)"
             ".unfold(1, K.shape[1], 1)\n    return (w * K).sum(dim=(-2, -1))",
    "library": "def corr2d(X, K):\n    return F.conv2d(X[None, None], K[None, None])[0, 0]",
}


def test_an_explorer_cell_runs_alone_and_says_what_to_run(shell):
    run(shell, "from course.explorers import correlation_explorer\n"
               "explorer = correlation_explorer()")
    explorer = shell.user_ns["explorer"]
    check_drawn(explorer, "corr2d not defined")
    assert "not defined in this kernel" in explorer.caption.value
    assert "def corr2d" in explorer.caption.value


@pytest.mark.parametrize("name, answers", [
    ("correlation_explorer", CORR2D),
    ("pooling_explorer", {
        "right": "def pool2d_pad_stride(X, pool_size, stride=None, padding=0, mode='max'):\n"
                 "    from tests.test_explorers import honest_pool\n"
                 "    return honest_pool(X, pool_size, stride, padding, mode)",
        "wrong": "def pool2d_pad_stride(X, pool_size, stride=None, padding=0, mode='max'):\n"
                 "    from tests.test_explorers import honest_pool\n"
                 "    return honest_pool(X, pool_size, stride, padding, mode) + 1",
        "library": "def pool2d_pad_stride(X, pool_size, stride=None, padding=0, mode='max'):\n"
                   "    f = F.max_pool2d if mode == 'max' else F.avg_pool2d\n"
                   "    return f(X[None, None], pool_size, stride, padding)[0, 0]"}),
    ("padding_stride_explorer", {
        "right": "def conv_output_shape(n, k, p, s):\n"
                 "    return tuple((n[i] - k[i] + 2 * p[i] + s[i]) // s[i] for i in range(2))",
        "wrong": "def conv_output_shape(n, k, p, s):\n"
                 "    return tuple((n[i] - k[i] + 2 * p[i]) // s[i] for i in range(2))",
        "library": "def conv_output_shape(n, k, p, s):\n    return tuple(F.conv2d(torch.zeros(1, "
                   "1, *n), torch.zeros(1, 1, *k), padding=p, stride=s).shape[-2:])"}),
])
def test_the_explorer_follows_every_new_definition_after_its_cell(shell, name, answers):
    """The explorer's cell ran once; each later cell that redefines the function redraws it
    (post_run_cell), and the caption names the cell it used: never a stale verdict."""
    run(shell, f"from course.explorers import {name}\nexplorer = {name}()")
    explorer = shell.user_ns["explorer"]
    for kind in ("right", "wrong", "library", "right"):
        run(shell, answers[kind])
        count = shell.execution_count - 1
        caption = explorer.caption.value
        check_drawn(explorer, kind)
        assert f"from cell [{count}]" in caption, (kind, caption)
        if kind == "right":
            assert "✓" in caption and "✗" not in caption, caption
        elif kind == "wrong":
            assert "✗" in caption and "✓" not in caption, caption
        else:
            assert "scores 0" in caption and "✓" not in caption, caption
        assert explorer.image.tooltip.startswith("Picture: "), explorer.image.tooltip
    run(shell, "del " + answers["right"].split("(")[0].split()[-1])
    assert "not defined in this kernel" in explorer.caption.value


def test_every_picture_has_a_text_alternative_that_follows_it():
    explorer = make("correlation_explorer", honest_corr2d)
    before = explorer.image.tooltip
    assert "Y[0, 0] = 0·0 + 1·1 + 3·2 + 4·3 = 19" in before and "matches PyTorch" in before
    explorer.controls["col"].value = 1
    assert "Y[0, 1]" in explorer.image.tooltip
    for name in ALL:
        assert len(make(name).image.tooltip) > 60, name


def test_locality_gives_the_chosen_delta_back_on_a_larger_image():
    explorer = make("locality_explorer")
    explorer.controls["delta"].value = 3
    explorer.controls["n"].value = 4
    assert explorer.controls["delta"].value == 1
    explorer.controls["n"].value = 32
    assert explorer.controls["delta"].value == 3


def test_the_own_kernel_box_is_live_only_when_chosen():
    explorer = make("correlation_explorer")
    assert explorer.controls["own"].disabled
    explorer.controls["kernel"].value = "your own"
    assert not explorer.controls["own"].disabled
