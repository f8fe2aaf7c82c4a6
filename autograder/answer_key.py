"""The answer key: one reference solution for every graded function of the course.

This module is the single source of truth for the solutions shown in ``source/``: the
notebook builder (``autograder.author``) copies each function body below into its
chapter's solution cell, and a test fails when they drift apart. Each function follows the
notes' algorithm where the notes give one, and none calls the library routine that *is* its
answer (``F.conv2d``, ``F.pad``, ``nn.MaxPool2d``, ...), except where the contract allows it.

Shapes: ``(h, w)`` for one channel, ``(c, h, w)`` for channels, ``(c_o, c_i, k_h, k_w)`` for
kernels. ``padding`` is per side, as in PyTorch; ``padding`` and ``stride`` take an int or an
``(h, w)`` pair.
"""
import torch
from torch import nn
from torch.nn import functional as F
from d2l import torch as d2l

from course import pair

# --------------------------------------------------------------------------------------
# 01 Locality: from fully-connected layers to convolutions
# --------------------------------------------------------------------------------------


def fc_param_count(n_h, n_w, m_h, m_w, bias=True):
    """Parameters of a dense layer from an n_h x n_w image to an m_h x m_w hidden map."""
    weights = (n_h * n_w) * (m_h * m_w)
    biases = m_h * m_w if bias else 0
    return weights + biases


def locally_connected_param_count(n_h, n_w, delta, bias=True):
    """Parameters when each of the n_h x n_w outputs sees its own (2*delta+1)^2 window."""
    window = (2 * delta + 1) ** 2
    per_pixel = window + (1 if bias else 0)
    return n_h * n_w * per_pixel


def conv_param_count(delta, c_in=1, c_out=1, bias=True):
    """Parameters of a convolution: one (2*delta+1)^2 window per (c_in, c_out) pair."""
    window = (2 * delta + 1) ** 2
    biases = c_out if bias else 0
    return c_in * c_out * window + biases


def shift2d(X, dy, dx):
    """X (h, w) moved down by dy and right by dx (negative: up/left); vacated cells are 0."""
    h, w = X.shape
    Y = torch.zeros_like(X)
    if abs(dy) < h and abs(dx) < w:
        Y[max(dy, 0):h + min(dy, 0), max(dx, 0):w + min(dx, 0)] = \
            X[max(-dy, 0):h - max(dy, 0), max(-dx, 0):w - max(dx, 0)]
    return Y


def corr1d(x, k):
    """1-D cross-correlation of x (n,) with k (m,): output (n - m + 1,)."""
    m = k.shape[0]
    y = torch.zeros(x.shape[0] - m + 1)
    for i in range(y.shape[0]):
        y[i] = (x[i:i + m] * k).sum()
    return y


# --------------------------------------------------------------------------------------
# 02 Cross-correlation: convolutions for images
# --------------------------------------------------------------------------------------


def corr2d(X, K):
    """2-D cross-correlation of X (n_h, n_w) with K (k_h, k_w): (n_h-k_h+1, n_w-k_w+1)."""
    h, w = K.shape
    Y = torch.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i:i + h, j:j + w] * K).sum()
    return Y


class Conv2D(nn.Module):
    """A 2-D convolutional layer: weight (kernel_size), bias (1,); forward(x) = corr2d + bias."""

    def __init__(self, kernel_size):
        super().__init__()
        self.weight = nn.Parameter(torch.rand(kernel_size))
        self.bias = nn.Parameter(torch.zeros(1))

    def forward(self, x):
        return corr2d(x, self.weight) + self.bias


def edge_kernel(direction):
    """The notes' edge detector: 'vertical' (1, 2) [[1, -1]], 'horizontal' (2, 1) its transpose."""
    if direction == 'vertical':
        return torch.tensor([[1.0, -1.0]])
    if direction == 'horizontal':
        return torch.tensor([[1.0], [-1.0]])
    raise ValueError(f"direction must be 'vertical' or 'horizontal', not {direction!r}")


def learn_kernel(X, Y, kernel_size=(1, 2), lr=3e-2, epochs=10):
    """Learn the kernel that maps X (h, w) to Y (h', w') by gradient descent on the squared loss.

    Returns the learned weight (kernel_size) and the summed squared loss of every epoch.
    """
    conv2d = nn.Conv2d(1, 1, kernel_size=kernel_size, bias=False)
    X = X.reshape((1, 1) + X.shape)
    Y = Y.reshape((1, 1) + Y.shape)
    losses = []
    for i in range(epochs):
        Y_hat = conv2d(X)
        loss = (Y_hat - Y) ** 2
        conv2d.zero_grad()
        loss.sum().backward()
        conv2d.weight.data[:] -= lr * conv2d.weight.grad
        losses.append(loss.sum().item())
    return conv2d.weight.data.reshape(kernel_size), losses


def conv2d_true(X, K):
    """Strict convolution of X (n_h, n_w) with K (k_h, k_w): cross-correlation with K flipped."""
    return corr2d(X, torch.flip(K, dims=(0, 1)))


def corr2d_as_matrix(K, n_h, n_w):
    """The matrix M (o_h*o_w, n_h*n_w) with M @ X.reshape(-1) == corr2d(X, K).reshape(-1)."""
    k_h, k_w = K.shape
    o_h, o_w = n_h - k_h + 1, n_w - k_w + 1
    M = torch.zeros((o_h * o_w, n_h * n_w))
    for i in range(o_h):
        for j in range(o_w):
            row = torch.zeros((n_h, n_w))
            row[i:i + k_h, j:j + k_w] = K
            M[i * o_w + j] = row.reshape(-1)
    return M


def receptive_field(layers):
    """Input height seen by one output element of conv layers [(kernel_size, stride), ...]."""
    size = 1
    for kernel_size, stride in reversed(layers):
        size = (size - 1) * stride + kernel_size
    return size


# --------------------------------------------------------------------------------------
# 03 Padding and stride
# --------------------------------------------------------------------------------------


def conv_output_shape(input_shape, kernel_size, padding=0, stride=1):
    """(o_h, o_w) = floor((n - k + 2p + s) / s) per axis, with p the per-side padding."""
    n_h, n_w = input_shape
    k_h, k_w = pair(kernel_size)
    p_h, p_w = pair(padding)
    s_h, s_w = pair(stride)
    return ((n_h - k_h + 2 * p_h + s_h) // s_h,
            (n_w - k_w + 2 * p_w + s_w) // s_w)


def pad2d(X, padding):
    """X (..., h, w) with `padding` zero rows/columns on every side: (..., h+2p_h, w+2p_w)."""
    p_h, p_w = pair(padding)
    h, w = X.shape[-2:]
    Y = X.new_zeros(X.shape[:-2] + (h + 2 * p_h, w + 2 * p_w))
    Y[..., p_h:p_h + h, p_w:p_w + w] = X
    return Y


def corr2d_pad_stride(X, K, padding=0, stride=1):
    """Cross-correlation of X (n_h, n_w) with K (k_h, k_w), zero padding per side and stride."""
    s_h, s_w = pair(stride)
    X = pad2d(X, padding)
    k_h, k_w = K.shape
    Y = torch.zeros(((X.shape[0] - k_h) // s_h + 1, (X.shape[1] - k_w) // s_w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            window = X[i * s_h:i * s_h + k_h, j * s_w:j * s_w + k_w]
            Y[i, j] = (window * K).sum()
    return Y


def same_padding(kernel_size):
    """Per-side padding (before, after) that keeps an axis' size at stride 1.

    The total is kernel_size - 1; for an even kernel the extra row goes before (top/left).
    """
    total = kernel_size - 1
    before = (total + 1) // 2
    return (before, total - before)


def mirror_pad2d(X, padding):
    """Reflection padding of X (h, w): the edge row/column itself is not repeated."""
    p_h, p_w = pair(padding)
    X = torch.cat([X[1:p_h + 1].flip(0), X, X[X.shape[0] - p_h - 1:-1].flip(0)], dim=0)
    X = torch.cat([X[:, 1:p_w + 1].flip(1), X, X[:, X.shape[1] - p_w - 1:-1].flip(1)], dim=1)
    return X


# --------------------------------------------------------------------------------------
# 04 Multiple input and output channels
# --------------------------------------------------------------------------------------


def corr2d_multi_in(X, K):
    """X (c_i, h, w), K (c_i, k_h, k_w): the cross-correlations of each channel, summed."""
    return sum(d2l.corr2d(x, k) for (x, k) in zip(X, K))


def corr2d_multi_in_out(X, K):
    """X (c_i, h, w), K (c_o, c_i, k_h, k_w): one multi-input correlation per output channel."""
    return torch.stack([corr2d_multi_in(X, k) for k in K], 0)


def corr2d_multi_in_out_1x1(X, K):
    """X (c_i, h, w), K (c_o, c_i, 1, 1): a 1x1 convolution as one matrix multiplication."""
    c_i, h, w = X.shape
    c_o = K.shape[0]
    X = X.reshape((c_i, h * w))
    K = K.reshape((c_o, c_i))
    Y = torch.matmul(K, X)
    return Y.reshape((c_o, h, w))


def conv2d_param_count(c_i, c_o, k_h, k_w, bias=True):
    """Parameters of a conv layer with a (c_o, c_i, k_h, k_w) kernel and one bias per output."""
    return c_o * c_i * k_h * k_w + (c_o if bias else 0)


def conv2d_macs(input_shape, kernel_shape, padding=0, stride=1):
    """Multiply-accumulates of one forward pass: every output cell costs c_i * k_h * k_w."""
    c_i, n_h, n_w = input_shape
    c_o, _, k_h, k_w = kernel_shape
    p_h, p_w = pair(padding)
    s_h, s_w = pair(stride)
    o_h = (n_h - k_h + 2 * p_h + s_h) // s_h
    o_w = (n_w - k_w + 2 * p_w + s_w) // s_w
    return c_o * o_h * o_w * c_i * k_h * k_w


def compose_kernels(K1, K2):
    """The kernel K (k1_h+k2_h-1, k1_w+k2_w-1) with corr2d(corr2d(X, K1), K2) == corr2d(X, K)."""
    k1_h, k1_w = K1.shape
    k2_h, k2_w = K2.shape
    K = torch.zeros((k1_h + k2_h - 1, k1_w + k2_w - 1))
    for u in range(k2_h):
        for v in range(k2_w):
            K[u:u + k1_h, v:v + k1_w] += K2[u, v] * K1
    return K


# --------------------------------------------------------------------------------------
# 05 Pooling
# --------------------------------------------------------------------------------------


def pool2d(X, pool_size, mode='max'):
    """Max or average pooling of X (h, w) with a (p_h, p_w) window, stride 1, no padding."""
    if mode not in ('max', 'avg'):
        raise ValueError(f"mode must be 'max' or 'avg', not {mode!r}")
    p_h, p_w = pool_size
    Y = torch.zeros((X.shape[0] - p_h + 1, X.shape[1] - p_w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            if mode == 'max':
                Y[i, j] = X[i: i + p_h, j: j + p_w].max()
            elif mode == 'avg':
                Y[i, j] = X[i: i + p_h, j: j + p_w].mean()
    return Y


def pool2d_pad_stride(X, pool_size, stride=None, padding=0, mode='max'):
    """Pooling of X (h, w) like nn.MaxPool2d / nn.AvgPool2d; the stride defaults to the window.

    Max pooling pads with -inf (a padded cell is never picked); average pooling pads with
    zeros and divides by the whole window (PyTorch's count_include_pad=True).
    """
    if mode not in ('max', 'avg'):
        raise ValueError(f"mode must be 'max' or 'avg', not {mode!r}")
    p_h, p_w = pair(pool_size)
    s_h, s_w = pair(pool_size if stride is None else stride)
    q_h, q_w = pair(padding)
    h, w = X.shape
    fill = float('-inf') if mode == 'max' else 0.0
    padded = torch.full((h + 2 * q_h, w + 2 * q_w), fill, dtype=X.dtype)
    padded[q_h:q_h + h, q_w:q_w + w] = X
    Y = torch.zeros(((padded.shape[0] - p_h) // s_h + 1, (padded.shape[1] - p_w) // s_w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            window = padded[i * s_h:i * s_h + p_h, j * s_w:j * s_w + p_w]
            Y[i, j] = window.max() if mode == 'max' else window.sum() / (p_h * p_w)
    return Y


def pool2d_multi_channel(X, pool_size, stride=None, padding=0, mode='max'):
    """Pooling of X (c, h, w), each channel on its own: (c, h', w')."""
    return torch.stack([pool2d_pad_stride(x, pool_size, stride, padding, mode) for x in X])


def avg_pool_as_conv(X, pool_size):
    """Average pooling of X (c, h, w), stride = window, as one grouped convolution."""
    c = X.shape[0]
    p_h, p_w = pair(pool_size)
    K = torch.full((c, 1, p_h, p_w), 1.0 / (p_h * p_w), dtype=X.dtype)
    return F.conv2d(X.unsqueeze(0), K, stride=(p_h, p_w), groups=c).squeeze(0)


def max_via_relu(a, b):
    """Elementwise max(a, b) = b + relu(a - b), with only relu, addition and subtraction."""
    return b + torch.relu(a - b)
