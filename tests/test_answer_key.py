"""The answer key against independent oracles, the notes' printed examples and the contract's rules.

Oracles: PyTorch's own layers and functionals (``F.conv1d/conv2d/pad/max_pool2d/avg_pool2d``,
``nn.Linear``, ``nn.Conv2d``, ``nn.MaxPool2d``, ``nn.AvgPool2d``), scipy's
``correlate2d/convolve2d`` and brute-force counts. Random cases come from hypothesis: non-square
inputs, rectangular kernels and windows, (h, w) padding and stride pairs, float32 and float64.
Functions are looked up on the module at call time (``key.corr2d``), so a test run against a
patched key sees the patch.
"""
import inspect

import pytest
import scipy.signal
import torch
from hypothesis import given, settings, strategies as st
from torch import nn
from torch.nn import functional as F

from autograder import answer_key as key
from course.checks import LIBRARY_OPS, expect_gradient, expect_unchanged, traced_call
from tests.contract import contract, signature_of

RANDOM = settings(max_examples=30, deadline=None)
SEEDS = st.integers(0, 2**31 - 1)
DTYPES = st.sampled_from([torch.float32, torch.float64])


def randn(seed, *shape, dtype=torch.float64):
    """A reproducible standard-normal tensor of ``shape``."""
    generator = torch.Generator().manual_seed(seed)
    return torch.randn(shape, generator=generator, dtype=dtype)


def assert_matches(result, expected, atol=1e-4, rtol=1e-4):
    """``result`` is a floating tensor with ``expected``'s shape and values (float32 tolerance)."""
    expected = torch.as_tensor(expected)
    assert isinstance(result, torch.Tensor) and result.is_floating_point(), type(result)
    assert result.shape == expected.shape, (tuple(result.shape), tuple(expected.shape))
    torch.testing.assert_close(result.detach().double(), expected.detach().double(),
                               atol=atol, rtol=rtol)


def assert_count(result, expected):
    """``result`` is the int ``expected`` (a count, not a float or a tensor)."""
    assert type(result) is int and result == expected, (result, expected)


def assert_int_pair(result, expected):
    """``result`` is the tuple of two ints ``expected``."""
    assert type(result) is tuple and all(type(n) is int for n in result), result
    assert result == tuple(expected), (result, expected)


def batch(X):
    """(h, w) -> (1, 1, h, w), the layout PyTorch's layers expect."""
    return X[None, None]


def maybe_int(draw, value):
    """An (h, w) pair, or the int it stands for when h == w (half of the time)."""
    return value[0] if value[0] == value[1] and draw(st.booleans()) else value


@st.composite
def conv_cases(draw, max_padding=2, max_stride=3):
    """X (n_h, n_w), K (k_h, k_w), padding and stride (int or pair) with a non-empty output."""
    n_h, n_w = draw(st.integers(1, 7)), draw(st.integers(1, 7))
    p_h, p_w = draw(st.integers(0, max_padding)), draw(st.integers(0, max_padding))
    k_h, k_w = draw(st.integers(1, n_h + 2 * p_h)), draw(st.integers(1, n_w + 2 * p_w))
    s_h, s_w = draw(st.integers(1, max_stride)), draw(st.integers(1, max_stride))
    dtype, seed = draw(DTYPES), draw(SEEDS)
    X, K = randn(seed, n_h, n_w, dtype=dtype), randn(seed + 1, k_h, k_w, dtype=dtype)
    return X, K, maybe_int(draw, (p_h, p_w)), maybe_int(draw, (s_h, s_w))


@st.composite
def pool_cases(draw, padded=True, max_stride=3):
    """X (n_h, n_w), window, stride (None, int or pair), padding <= window // 2, mode.

    Half of the inputs are all negative, so that a max pool that pads with zeros shows.
    """
    p_h, p_w = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    q_h = draw(st.integers(0, p_h // 2)) if padded else 0
    q_w = draw(st.integers(0, p_w // 2)) if padded else 0
    n_h = draw(st.integers(max(1, p_h - 2 * q_h), 7))
    n_w = draw(st.integers(max(1, p_w - 2 * q_w), 7))
    stride = draw(st.none() | st.tuples(st.integers(1, max_stride), st.integers(1, max_stride)))
    if stride is not None:
        stride = maybe_int(draw, stride)
    dtype, seed = draw(DTYPES), draw(SEEDS)
    X = randn(seed, n_h, n_w, dtype=dtype)
    if draw(st.booleans()):
        X = -X.abs() - 1
    mode = draw(st.sampled_from(["max", "avg"]))
    return X, maybe_int(draw, (p_h, p_w)), stride, maybe_int(draw, (q_h, q_w)), mode


def torch_pool(X, pool_size, stride=None, padding=0, mode="max"):
    """nn.MaxPool2d / nn.AvgPool2d on X (..., h, w), each (h, w) map pooled on its own."""
    layer = (nn.MaxPool2d if mode == "max" else nn.AvgPool2d)(pool_size, stride, padding)
    Y = layer(X.reshape((-1, 1) + X.shape[-2:]))
    return Y.reshape(X.shape[:-2] + Y.shape[-2:])


def torch_shift(X, dy, dx):
    """X rolled by (dy, dx) with the cells that wrapped around set to zero."""
    Y = torch.roll(X, (dy, dx), (0, 1))
    if dy > 0:
        Y[:dy] = 0
    elif dy < 0:
        Y[dy:] = 0
    if dx > 0:
        Y[:, :dx] = 0
    elif dx < 0:
        Y[:, dx:] = 0
    return Y


def n_parameters(module):
    return sum(p.numel() for p in module.parameters())


# --------------------------------------------------------------------------------------
# 01 Locality
# --------------------------------------------------------------------------------------


@RANDOM
@given(st.integers(1, 6), st.integers(1, 6), st.integers(1, 6), st.integers(1, 6), st.booleans())
def test_fc_param_count_is_nn_linear(n_h, n_w, m_h, m_w, bias):
    dense = nn.Linear(n_h * n_w, m_h * m_w, bias=bias, device="meta")
    assert_count(key.fc_param_count(n_h, n_w, m_h, m_w, bias=bias), n_parameters(dense))


@RANDOM
@given(st.integers(1, 5), st.integers(1, 5), st.integers(0, 3), st.booleans())
def test_locally_connected_param_count_is_one_kernel_per_pixel(n_h, n_w, delta, bias):
    """No weight sharing: a separate (2*delta+1)^2 kernel (and bias) for every output pixel."""
    per_pixel = nn.ModuleList(nn.Conv2d(1, 1, 2 * delta + 1, bias=bias, device="meta")
                              for _ in range(n_h * n_w))
    assert_count(key.locally_connected_param_count(n_h, n_w, delta, bias=bias),
                 n_parameters(per_pixel))


@RANDOM
@given(st.integers(0, 4), st.integers(1, 5), st.integers(1, 5), st.booleans())
def test_conv_param_count_is_nn_conv2d(delta, c_in, c_out, bias):
    conv = nn.Conv2d(c_in, c_out, 2 * delta + 1, bias=bias, device="meta")
    assert_count(key.conv_param_count(delta, c_in, c_out, bias=bias), n_parameters(conv))


def test_conv_param_count_defaults_to_one_channel_with_bias():
    assert_count(key.conv_param_count(1), n_parameters(nn.Conv2d(1, 1, 3, device="meta")))


@RANDOM
@given(st.integers(1, 6), st.integers(1, 6), st.integers(-8, 8), st.integers(-8, 8), SEEDS)
def test_shift2d_is_roll_with_vacated_cells_zeroed(h, w, dy, dx, seed):
    X = randn(seed, h, w)
    assert_matches(key.shift2d(X, dy, dx), torch_shift(X, dy, dx), atol=0, rtol=0)


@RANDOM
@given(st.integers(1, 10), st.data())
def test_corr1d_is_conv1d(n, data):
    m, seed, dtype = data.draw(st.integers(1, n)), data.draw(SEEDS), data.draw(DTYPES)
    x, k = randn(seed, n, dtype=dtype), randn(seed + 1, m, dtype=dtype)
    assert_matches(key.corr1d(x, k), F.conv1d(x[None, None], k[None, None])[0, 0])


# --------------------------------------------------------------------------------------
# 02 Cross-correlation
# --------------------------------------------------------------------------------------


@RANDOM
@given(conv_cases(max_padding=0, max_stride=1))
def test_corr2d_is_scipy_correlate2d_and_conv2d(case):
    X, K, _, _ = case
    result = key.corr2d(X, K)
    assert_matches(result, scipy.signal.correlate2d(X.numpy(), K.numpy(), mode="valid"))
    assert_matches(result, F.conv2d(batch(X), batch(K))[0, 0])


@pytest.mark.parametrize("shape", [(1, 1), (3, 5), (6, 2)])
def test_corr2d_kernel_as_large_as_the_input(shape):
    X, K = randn(0, *shape), randn(1, *shape)
    assert_matches(key.corr2d(X, K), (X * K).sum().reshape(1, 1))


@RANDOM
@given(conv_cases(max_padding=0, max_stride=1))
def test_conv2d_true_is_scipy_convolve2d(case):
    X, K, _, _ = case
    assert_matches(key.conv2d_true(X, K),
                   scipy.signal.convolve2d(X.numpy(), K.numpy(), mode="valid"))


@RANDOM
@given(conv_cases(max_padding=0, max_stride=1))
def test_conv2d_layer_is_f_conv2d_with_bias(case):
    X, K, _, _ = case
    X = X.float()
    layer = key.Conv2D(tuple(K.shape))
    assert layer.weight.shape == K.shape and layer.bias.shape == (1,)
    with torch.no_grad():
        layer.weight.copy_(K)
        layer.bias.fill_(0.5)
    assert_matches(layer(X), F.conv2d(batch(X), batch(layer.weight), layer.bias)[0, 0])


def test_conv2d_layer_trains_weight_and_bias():
    X, K = randn(0, 5, 6, dtype=torch.float32), randn(1, 2, 3, dtype=torch.float32)
    layer = key.Conv2D((2, 3))
    with torch.no_grad():
        layer.weight.copy_(K)
        layer.bias.zero_()  # the contract fixes the parameters' shapes, not their first values
    layer(X).square().sum().backward()
    weight, bias = K.clone().requires_grad_(), torch.zeros(1, requires_grad=True)
    F.conv2d(batch(X), batch(weight), bias).square().sum().backward()
    assert_matches(layer.weight.grad, weight.grad)
    assert_matches(layer.bias.grad, bias.grad)


@RANDOM
@given(conv_cases(max_padding=0, max_stride=1), SEEDS)
def test_corr2d_as_matrix_times_flat_input_is_conv2d(case, seed):
    X, K, _, _ = case
    n_h, n_w = X.shape
    M = key.corr2d_as_matrix(K, n_h, n_w)
    expected = F.conv2d(batch(X), batch(K))[0, 0]
    assert M.shape == (expected.numel(), n_h * n_w)
    for X in (X, randn(seed, n_h, n_w, dtype=X.dtype)):
        expected = F.conv2d(batch(X), batch(K))[0, 0]
        assert_matches(M.double() @ X.double().reshape(-1), expected.reshape(-1))


def brute_force_receptive_field(layers):
    """Span of the input rows whose gradient reaches output row 0 of a stack of all-ones convs."""
    X = torch.zeros(1, 1, 400, 1, requires_grad=True)
    Y = X
    for kernel_size, stride in layers:
        Y = F.conv2d(Y, torch.ones(1, 1, kernel_size, 1), stride=(stride, 1))
    Y[0, 0, 0, 0].backward()
    rows = torch.nonzero(X.grad[0, 0, :, 0]).flatten()
    return int(rows.max() - rows.min()) + 1


@RANDOM
@given(st.lists(st.tuples(st.integers(1, 5), st.integers(1, 3)), min_size=1, max_size=4))
def test_receptive_field_is_brute_force_span(layers):
    assert_count(key.receptive_field(layers), brute_force_receptive_field(layers))


@pytest.mark.parametrize("direction, shape", [("vertical", (1, 2)), ("horizontal", (2, 1))])
def test_edge_kernel(direction, shape):
    assert_matches(key.edge_kernel(direction), torch.tensor([1.0, -1.0]).reshape(shape))


@pytest.mark.parametrize("direction", ["diagonal", "Vertical", "", None])
def test_edge_kernel_rejects_an_unknown_direction(direction):
    with pytest.raises(ValueError):
        key.edge_kernel(direction)


@pytest.mark.parametrize("k1_shape, k2_shape", [((1, 1), (1, 1)), ((2, 3), (3, 1)),
                                                ((1, 2), (2, 2)), ((3, 3), (2, 3))])
def test_compose_kernels_equals_applying_both(k1_shape, k2_shape):
    K1, K2 = randn(1, *k1_shape), randn(2, *k2_shape)
    K = key.compose_kernels(K1, K2)
    assert_matches(K, F.conv_transpose2d(batch(K1), batch(K2))[0, 0])
    X = randn(0, 7, 6)
    assert_matches(F.conv2d(batch(X), batch(K.double())),
                   F.conv2d(F.conv2d(batch(X), batch(K1)), batch(K2)))


# --------------------------------------------------------------------------------------
# 03 Padding and stride
# --------------------------------------------------------------------------------------


@RANDOM
@given(st.integers(1, 30), st.integers(1, 30), st.data())
def test_conv_output_shape_is_nn_conv2d(n_h, n_w, data):
    p = data.draw(st.tuples(st.integers(0, 4), st.integers(0, 4)))
    k = data.draw(st.tuples(st.integers(1, n_h + 2 * p[0]), st.integers(1, n_w + 2 * p[1])))
    s = data.draw(st.tuples(st.integers(1, 5), st.integers(1, 5)))
    k, p, s = (maybe_int(data.draw, value) for value in (k, p, s))
    conv = nn.Conv2d(1, 1, k, padding=p, stride=s, device="meta")
    expected = tuple(conv(torch.empty(1, 1, n_h, n_w, device="meta")).shape[-2:])
    assert_int_pair(key.conv_output_shape((n_h, n_w), k, p, s), expected)


@RANDOM
@given(st.integers(1, 3), st.integers(1, 5), st.integers(1, 5), st.integers(0, 3),
       st.integers(0, 3), DTYPES, SEEDS)
def test_pad2d_is_f_pad_on_every_side(c, h, w, p_h, p_w, dtype, seed):
    X = randn(seed, c, h, w, dtype=dtype)
    padding = (p_h, p_w) if p_h != p_w or seed % 2 else p_h
    assert_matches(key.pad2d(X[0], padding), F.pad(X[0], (p_w, p_w, p_h, p_h)), atol=0, rtol=0)
    assert_matches(key.pad2d(X, padding), F.pad(X, (p_w, p_w, p_h, p_h)), atol=0, rtol=0)


@RANDOM
@given(conv_cases())
def test_corr2d_pad_stride_is_nn_conv2d(case):
    X, K, padding, stride = case
    conv = nn.Conv2d(1, 1, K.shape, padding=padding, stride=stride, bias=False, dtype=X.dtype)
    with torch.no_grad():
        conv.weight.copy_(batch(K))
        expected = conv(batch(X))[0, 0]
    assert_matches(key.corr2d_pad_stride(X, K, padding, stride), expected)


@pytest.mark.parametrize("kernel_size, expected", [(1, (0, 0)), (2, (1, 0)), (3, (1, 1)),
                                                   (4, (2, 1)), (5, (2, 2)), (8, (4, 3))])
def test_same_padding_puts_the_extra_row_on_top(kernel_size, expected):
    assert_int_pair(key.same_padding(kernel_size), expected)


@RANDOM
@given(st.integers(1, 9), st.integers(0, 6))
def test_same_padding_keeps_the_size(kernel_size, extra):
    """F.pad with (before, after) rows, then a (kernel_size, 1) kernel: n rows in, n rows out."""
    n = kernel_size + extra
    before, after = key.same_padding(kernel_size)
    assert before - after in (0, 1)
    padded = F.pad(torch.zeros(n, 3), (0, 0, before, after))
    assert F.conv2d(batch(padded), torch.ones(1, 1, kernel_size, 1)).shape[-2:] == (n, 3)


@RANDOM
@given(st.integers(1, 7), st.integers(1, 7), st.data())
def test_mirror_pad2d_is_reflect_padding(h, w, data):
    p = (data.draw(st.integers(0, h - 1)), data.draw(st.integers(0, w - 1)))
    X = randn(data.draw(SEEDS), h, w, dtype=data.draw(DTYPES))
    expected = F.pad(X[None], (p[1], p[1], p[0], p[0]), mode="reflect")[0]
    assert_matches(key.mirror_pad2d(X, maybe_int(data.draw, p)), expected, atol=0, rtol=0)


# --------------------------------------------------------------------------------------
# 04 Multiple input and output channels
# --------------------------------------------------------------------------------------


@st.composite
def channel_cases(draw, kernel_size=None):
    """X (c_i, h, w) and K (c_o, c_i, k_h, k_w)."""
    c_i, c_o = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    h, w = draw(st.integers(1, 6)), draw(st.integers(1, 6))
    k_h, k_w = kernel_size or (draw(st.integers(1, h)), draw(st.integers(1, w)))
    dtype, seed = draw(DTYPES), draw(SEEDS)
    return randn(seed, c_i, h, w, dtype=dtype), randn(seed + 1, c_o, c_i, k_h, k_w, dtype=dtype)


@RANDOM
@given(channel_cases())
def test_corr2d_multi_in_is_conv2d(case):
    X, K = case
    assert_matches(key.corr2d_multi_in(X, K[0]), F.conv2d(X[None], K[:1])[0, 0])


@RANDOM
@given(channel_cases())
def test_corr2d_multi_in_out_is_conv2d(case):
    X, K = case
    assert_matches(key.corr2d_multi_in_out(X, K), F.conv2d(X[None], K)[0])


@RANDOM
@given(channel_cases(kernel_size=(1, 1)))
def test_corr2d_multi_in_out_1x1_is_conv2d(case):
    X, K = case
    assert_matches(key.corr2d_multi_in_out_1x1(X, K), F.conv2d(X[None], K)[0])


@RANDOM
@given(st.integers(1, 4), st.integers(1, 4), st.integers(1, 5), st.integers(1, 5), st.booleans())
def test_conv2d_param_count_is_nn_conv2d(c_i, c_o, k_h, k_w, bias):
    conv = nn.Conv2d(c_i, c_o, (k_h, k_w), bias=bias, device="meta")
    assert_count(key.conv2d_param_count(c_i, c_o, k_h, k_w, bias=bias), n_parameters(conv))


@RANDOM
@given(st.integers(1, 4), st.integers(1, 4), conv_cases())
def test_conv2d_macs_is_output_cells_times_window(c_i, c_o, case):
    """Every output cell of nn.Conv2d costs one multiply-accumulate per kernel weight it uses."""
    X, K, padding, stride = case
    (n_h, n_w), (k_h, k_w) = X.shape, K.shape
    conv = nn.Conv2d(c_i, c_o, (k_h, k_w), padding=padding, stride=stride, device="meta")
    out = conv(torch.empty(1, c_i, n_h, n_w, device="meta"))
    expected = out.numel() * c_i * k_h * k_w
    assert_count(key.conv2d_macs((c_i, n_h, n_w), (c_o, c_i, k_h, k_w), padding, stride), expected)


# --------------------------------------------------------------------------------------
# 05 Pooling
# --------------------------------------------------------------------------------------


@RANDOM
@given(pool_cases(padded=False))
def test_pool2d_is_torch_pooling_with_stride_one(case):
    X, pool_size, _, _, mode = case
    pool_size = pool_size if isinstance(pool_size, tuple) else (pool_size, pool_size)
    expected = torch_pool(X, pool_size, stride=1, mode=mode)
    assert_matches(key.pool2d(X, pool_size, mode=mode), expected)


@pytest.mark.parametrize("mode", ["max", "avg"])
def test_pool2d_window_as_large_as_the_input(mode):
    X = -randn(0, 3, 4).abs()
    expected = X.max() if mode == "max" else X.mean()
    assert_matches(key.pool2d(X, (3, 4), mode), expected.reshape(1, 1))


@pytest.mark.parametrize("mode", ["min", "sum", "MAX", ""])
def test_pool2d_rejects_an_unknown_mode(mode):
    with pytest.raises(ValueError):
        key.pool2d(torch.ones(3, 3), (2, 2), mode)


@pytest.mark.parametrize("name, X", [("pool2d_pad_stride", torch.ones(3, 3)),
                                     ("pool2d_multi_channel", torch.ones(2, 3, 3))])
@pytest.mark.parametrize("mode", ["min", "sum", "MAX", ""])
def test_pooling_with_padding_and_stride_rejects_an_unknown_mode(name, X, mode):
    """The chapter says so: "An unknown mode raises ValueError" (the multi-channel version's
    arguments "mean what they mean for pool2d_pad_stride")."""
    with pytest.raises(ValueError):
        getattr(key, name)(X, 2, mode=mode)


@RANDOM
@given(pool_cases())
def test_pool2d_pad_stride_is_nn_pooling(case):
    X, pool_size, stride, padding, mode = case
    expected = torch_pool(X, pool_size, stride, padding, mode)
    assert_matches(key.pool2d_pad_stride(X, pool_size, stride, padding, mode), expected)


@RANDOM
@given(pool_cases(), st.integers(1, 3), SEEDS)
def test_pool2d_multi_channel_pools_each_channel(case, c, seed):
    X, pool_size, stride, padding, mode = case
    X = torch.stack([X] + [randn(seed + i, *X.shape, dtype=X.dtype) for i in range(c - 1)])
    expected = torch_pool(X, pool_size, stride, padding, mode)
    assert_matches(key.pool2d_multi_channel(X, pool_size, stride, padding, mode), expected)


@RANDOM
@given(pool_cases(padded=False), st.integers(1, 3), SEEDS)
def test_avg_pool_as_conv_is_avg_pool2d(case, c, seed):
    X, pool_size, _, _, _ = case
    X = randn(seed, c, *X.shape, dtype=X.dtype)
    assert_matches(key.avg_pool_as_conv(X, pool_size), F.avg_pool2d(X[None], pool_size)[0])


@RANDOM
@given(st.integers(1, 5), st.integers(1, 5), DTYPES, SEEDS)
def test_max_via_relu_is_maximum(h, w, dtype, seed):
    a, b = randn(seed, h, w, dtype=dtype), randn(seed + 1, h, w, dtype=dtype)
    b[0, 0] = a[0, 0]
    assert_matches(key.max_via_relu(a, b), torch.maximum(a, b))


def test_max_via_relu_uses_only_relu_and_arithmetic():
    _, ops = traced_call(key.max_via_relu, randn(0, 3, 4), randn(1, 3, 4))
    assert ops <= {"relu", "add", "sub", "rsub", "neg"}, ops


# --------------------------------------------------------------------------------------
# Every example printed in the notes, with the notes' numbers
# --------------------------------------------------------------------------------------

NOTES_X = torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])
NOTES_K = torch.tensor([[0.0, 1.0], [2.0, 3.0]])


def notes_edge_image():
    """The notes' 6 x 8 image: white (1) with a black (0) band in columns 2-5."""
    X = torch.ones((6, 8))
    X[:, 2:6] = 0
    return X


def test_d2l_imports_and_has_the_notes_corr2d():
    from d2l import torch as d2l
    assert_matches(d2l.corr2d(NOTES_X, NOTES_K), [[19.0, 25.0], [37.0, 43.0]])


def test_notes_corr2d_example():
    assert_matches(key.corr2d(NOTES_X, NOTES_K), [[19.0, 25.0], [37.0, 43.0]])


def test_notes_edge_detection():
    X = notes_edge_image()
    Y = key.corr2d(X, key.edge_kernel("vertical"))
    assert_matches(Y, [[0.0, 1.0, 0.0, 0.0, 0.0, -1.0, 0.0]] * 6)
    assert_matches(key.corr2d(X.t(), key.edge_kernel("vertical")), torch.zeros(8, 5))
    assert_matches(key.corr2d(X.t(), key.edge_kernel("horizontal")), Y.t())


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_notes_learn_kernel_converges(seed):
    X = notes_edge_image()
    Y = key.corr2d(X, key.edge_kernel("vertical"))
    torch.manual_seed(seed)
    weight, losses = key.learn_kernel(X, Y)
    assert_matches(weight, [[1.0, -1.0]], atol=0.1, rtol=0)
    assert len(losses) == 10 and all(isinstance(loss, float) for loss in losses)
    assert all(later < earlier for earlier, later in zip(losses, losses[1:])), losses
    assert losses[-1] < 0.05 * losses[0], losses


def test_learn_kernel_losses_are_summed_squared_errors():
    """With lr=0 the kernel never moves: every epoch's loss is the returned kernel's summed
    squared error, computed by F.conv2d."""
    X = notes_edge_image()
    Y = key.corr2d(X, key.edge_kernel("vertical"))
    torch.manual_seed(0)
    weight, losses = key.learn_kernel(X, Y, lr=0.0, epochs=3)
    error = (F.conv2d(batch(X), batch(weight))[0, 0] - Y).square().sum()
    assert losses == pytest.approx([float(error)] * 3, rel=1e-5)


def test_learn_kernel_honours_kernel_size_and_epochs():
    X = notes_edge_image()
    Y = key.corr2d(X.t(), key.edge_kernel("horizontal"))
    torch.manual_seed(0)
    weight, losses = key.learn_kernel(X.t(), Y, kernel_size=(2, 1), lr=3e-2, epochs=25)
    assert len(losses) == 25
    assert_matches(weight, [[1.0], [-1.0]], atol=0.1, rtol=0)


@pytest.mark.parametrize("kernel_size, padding, stride, expected", [
    (3, 1, 1, (8, 8)),
    ((5, 3), (2, 1), 1, (8, 8)),
    (3, 1, 2, (4, 4)),
    ((3, 5), (0, 1), (3, 4), (2, 2)),
])
def test_notes_padding_and_stride_shapes(kernel_size, padding, stride, expected):
    assert_int_pair(key.conv_output_shape((8, 8), kernel_size, padding, stride), expected)
    X, K = torch.rand(8, 8), torch.rand(kernel_size if isinstance(kernel_size, tuple)
                                        else (kernel_size,) * 2)
    assert tuple(key.corr2d_pad_stride(X, K, padding, stride).shape) == expected


NOTES_X2 = torch.stack((NOTES_X, NOTES_X + 1))
NOTES_K2 = torch.stack((NOTES_K, NOTES_K + 1))


def test_notes_corr2d_multi_in():
    assert_matches(key.corr2d_multi_in(NOTES_X2, NOTES_K2), [[56.0, 72.0], [104.0, 120.0]])


def test_notes_corr2d_multi_in_out():
    K = torch.stack((NOTES_K2, NOTES_K2 + 1, NOTES_K2 + 2), 0)
    assert K.shape == (3, 2, 2, 2)
    assert_matches(key.corr2d_multi_in_out(NOTES_X2, K),
                   [[[56.0, 72.0], [104.0, 120.0]],
                    [[76.0, 100.0], [148.0, 172.0]],
                    [[96.0, 128.0], [192.0, 224.0]]])


def test_notes_1x1_equivalence():
    torch.manual_seed(0)
    X, K = torch.normal(0, 1, (3, 3, 3)), torch.normal(0, 1, (2, 3, 1, 1))
    Y1, Y2 = key.corr2d_multi_in_out(X, K), key.corr2d_multi_in_out_1x1(X, K)
    assert Y2.shape == (2, 3, 3)
    assert float(torch.abs(Y1 - Y2).sum()) < 1e-6


def test_notes_pool2d_examples():
    assert_matches(key.pool2d(NOTES_X, (2, 2)), [[4.0, 5.0], [7.0, 8.0]])
    assert_matches(key.pool2d(NOTES_X, (2, 2), mode="avg"), [[2.0, 3.0], [5.0, 6.0]])


NOTES_X16 = torch.arange(16, dtype=torch.float32).reshape((4, 4))


@pytest.mark.parametrize("pool_size, stride, padding, expected", [
    (3, None, 0, [[10.0]]),
    (3, 2, 1, [[5.0, 7.0], [13.0, 15.0]]),
    ((2, 3), (2, 3), (0, 1), [[5.0, 7.0], [13.0, 15.0]]),
])
def test_notes_max_pool_padding_and_stride(pool_size, stride, padding, expected):
    assert_matches(key.pool2d_pad_stride(NOTES_X16, pool_size, stride, padding), expected)


def test_notes_multi_channel_pooling():
    X = torch.stack((NOTES_X16, NOTES_X16 + 1))
    assert_matches(key.pool2d_multi_channel(X, 3, padding=1, stride=2),
                   [[[5.0, 7.0], [13.0, 15.0]], [[6.0, 8.0], [14.0, 16.0]]])


# --------------------------------------------------------------------------------------
# The contract's rules: inputs untouched, gradients kept, no library routine that is the answer
# --------------------------------------------------------------------------------------


def graded_calls():
    """Every graded function (name -> (callable, args)) on small inputs."""
    X, K = randn(0, 5, 6), randn(1, 2, 3)
    X3, K3, K4 = randn(2, 2, 5, 6), randn(3, 2, 2, 3), randn(4, 3, 2, 2, 3)
    edges = notes_edge_image()
    return {
        "fc_param_count": (key.fc_param_count, (4, 4, 3, 3)),
        "locally_connected_param_count": (key.locally_connected_param_count, (4, 5, 1)),
        "conv_param_count": (key.conv_param_count, (1, 2, 3)),
        "shift2d": (key.shift2d, (X, 1, -2)),
        "corr1d": (key.corr1d, (randn(5, 7), randn(6, 3))),
        "corr2d": (key.corr2d, (X, K)),
        "Conv2D": (lambda X: key.Conv2D((2, 3))(X), (X.float(),)),
        "edge_kernel": (key.edge_kernel, ("vertical",)),
        "learn_kernel": (key.learn_kernel, (edges, key.corr2d(edges, key.edge_kernel("vertical")))),
        "conv2d_true": (key.conv2d_true, (X, K)),
        "corr2d_as_matrix": (key.corr2d_as_matrix, (K, 5, 6)),
        "receptive_field": (key.receptive_field, ([(3, 1), (3, 2)],)),
        "conv_output_shape": (key.conv_output_shape, ((5, 6), (2, 3), 1, 2)),
        "pad2d": (key.pad2d, (X, (1, 2))),
        "corr2d_pad_stride": (key.corr2d_pad_stride, (X, K, (1, 2), (2, 1))),
        "same_padding": (key.same_padding, (4,)),
        "mirror_pad2d": (key.mirror_pad2d, (X, (2, 1))),
        "corr2d_multi_in": (key.corr2d_multi_in, (X3, K3)),
        "corr2d_multi_in_out": (key.corr2d_multi_in_out, (X3, K4)),
        "corr2d_multi_in_out_1x1": (key.corr2d_multi_in_out_1x1, (X3, K4[:, :, :1, :1])),
        "conv2d_param_count": (key.conv2d_param_count, (2, 3, 2, 3)),
        "conv2d_macs": (key.conv2d_macs, ((2, 5, 6), (3, 2, 2, 3), 1, 2)),
        "compose_kernels": (key.compose_kernels, (K, randn(5, 3, 2))),
        "pool2d": (key.pool2d, (X, (2, 3), "max")),
        "pool2d_avg": (key.pool2d, (X, (2, 3), "avg")),
        "pool2d_pad_stride": (key.pool2d_pad_stride, (X, (3, 2), (2, 1), (1, 1), "max")),
        "pool2d_pad_stride_avg": (key.pool2d_pad_stride, (X, (3, 2), (2, 1), (1, 1), "avg")),
        "pool2d_multi_channel": (key.pool2d_multi_channel, (X3, 3, 2, 1, "max")),
        "avg_pool_as_conv": (key.avg_pool_as_conv, (X3, (2, 3))),
        "max_via_relu": (key.max_via_relu, (X, randn(6, 5, 6))),
    }


#: Library routines the contract allows: F.conv2d in avg_pool_as_conv, nn.Conv2d in learn_kernel.
ALLOWED_FAMILIES = {"avg_pool_as_conv": {"convolution"}, "learn_kernel": {"convolution"}}
#: d2l.corr2d is allowed in corr2d_multi_in, and so in the notes' corr2d_multi_in_out built on it.
MAY_CALL_D2L_CORR2D = {"corr2d_multi_in", "corr2d_multi_in_out"}


def test_graded_calls_cover_the_whole_answer_key():
    defined = {name for name, value in vars(key).items() if not name.startswith("_")
               and (inspect.isfunction(value) or inspect.isclass(value))
               and value.__module__ == key.__name__}
    assert defined == set(graded_calls()) - {"pool2d_avg", "pool2d_pad_stride_avg"}


@pytest.mark.parametrize("name", sorted(graded_calls()))
def test_no_library_routine_that_is_the_answer(name, monkeypatch):
    from d2l import torch as d2l
    d2l_calls = []
    original = d2l.corr2d
    monkeypatch.setattr(d2l, "corr2d", lambda *args: d2l_calls.append(1) or original(*args))
    f, args = graded_calls()[name]
    _, ops = traced_call(f, *args)
    allowed = ALLOWED_FAMILIES.get(name, set())
    maximum = {"maximum"} if name != "max_via_relu" else set()  # only max_via_relu's answer
    banned = tuple(op for family, names in LIBRARY_OPS.items() if family not in allowed | maximum
                   for op in names)
    assert not [op for op in ops if op.startswith(banned) or "." in op], ops
    assert not d2l_calls or name in MAY_CALL_D2L_CORR2D
    if allowed:
        # The tracer sees a library routine where one is used: the check above can fail.
        assert any(op.startswith(LIBRARY_OPS["convolution"]) for op in ops), ops


#: The graded contract's parameters and defaults of every graded name (docs/contract.md).
CONTRACT = {name: params for chapter in contract().values() for name, params in chapter.items()}


@pytest.mark.parametrize("name", sorted(n for n in graded_calls()
                                         if n != "Conv2D" and not n.endswith("_avg")))
def test_defaults_are_the_contracts(name):
    """Every function's parameters and defaults (the class Conv2D's are checked with its
    notebook cell in tests/test_contract.py)."""
    assert signature_of(getattr(key, name)) == CONTRACT[name]


@pytest.mark.parametrize("name", sorted(graded_calls()))
def test_does_not_modify_its_inputs(name):
    f, args = graded_calls()[name]
    expect_unchanged(f, *args, name=name)


def oracle_corr2d_pad_stride(X, K, padding, stride):
    return F.conv2d(batch(X), batch(K), padding=padding, stride=stride)[0, 0]


#: name -> (oracle with the same signature, args whose first is the tensor to differentiate).
DIFFERENTIABLE = {
    "shift2d": (torch_shift, (randn(0, 4, 5), 1, -2)),
    "corr1d": (lambda x, k: F.conv1d(x[None, None], k[None, None])[0, 0],
               (randn(0, 7), randn(1, 3))),
    "corr2d": (lambda X, K: F.conv2d(batch(X), batch(K))[0, 0], (randn(0, 5, 6), randn(1, 2, 3))),
    "conv2d_true": (lambda X, K: F.conv2d(batch(X), batch(K.flip(0, 1)))[0, 0],
                    (randn(0, 5, 6), randn(1, 2, 3))),
    "pad2d": (lambda X, p: F.pad(X, (p[1], p[1], p[0], p[0])), (randn(0, 4, 5), (1, 2))),
    "mirror_pad2d": (lambda X, p: F.pad(X[None], (p[1], p[1], p[0], p[0]), mode="reflect")[0],
                     (randn(0, 4, 5), (2, 1))),
    "corr2d_pad_stride": (oracle_corr2d_pad_stride,
                          (randn(0, 5, 6), randn(1, 2, 3), (1, 2), (2, 1))),
    "corr2d_multi_in": (lambda X, K: F.conv2d(X[None], K[None])[0, 0],
                        (randn(0, 2, 5, 6), randn(1, 2, 2, 3))),
    "corr2d_multi_in_out": (lambda X, K: F.conv2d(X[None], K)[0],
                            (randn(0, 2, 5, 6), randn(1, 3, 2, 2, 3))),
    "corr2d_multi_in_out_1x1": (lambda X, K: F.conv2d(X[None], K)[0],
                                (randn(0, 2, 5, 6), randn(1, 3, 2, 1, 1))),
    "compose_kernels": (lambda K1, K2: F.conv_transpose2d(batch(K1), batch(K2))[0, 0],
                        (randn(0, 2, 3), randn(1, 3, 2))),
    "pool2d": (lambda X, size, mode: torch_pool(X, size, 1, 0, mode),
               (randn(0, 5, 6), (2, 3), "max")),
    "pool2d_avg": (lambda X, size, mode: torch_pool(X, size, 1, 0, mode),
                   (randn(0, 5, 6), (2, 3), "avg")),
    "pool2d_pad_stride": (torch_pool, (randn(0, 5, 6), (3, 2), (2, 1), (1, 1), "max")),
    "pool2d_pad_stride_avg": (torch_pool, (randn(0, 5, 6), (3, 2), (2, 1), (1, 1), "avg")),
    "pool2d_multi_channel": (torch_pool, (randn(0, 2, 5, 6), 3, 2, 1, "max")),
    "avg_pool_as_conv": (lambda X, size: F.avg_pool2d(X[None], size)[0],
                         (randn(0, 2, 5, 6), (2, 3))),
    "max_via_relu": (torch.maximum, (randn(0, 4, 5), randn(1, 4, 5))),
}


@pytest.mark.parametrize("name", sorted(DIFFERENTIABLE))
def test_keeps_the_gradient(name):
    oracle, args = DIFFERENTIABLE[name]
    f = getattr(key, name.removesuffix("_avg"))
    assert_matches(expect_gradient(f, *args, name=name), expect_gradient(oracle, *args))
