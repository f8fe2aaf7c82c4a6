# %% [markdown]
# # 04 · Multiple input and output channels
#
# So far every image had one channel and every kernel was a single $k_h \times k_w$ grid of
# weights. Real images have three colour channels, and the hidden representations inside a
# network have dozens or hundreds. This chapter adds the channel axis:
#
# 1. **several input channels**: one kernel slice per input channel, results summed;
# 2. **several output channels**: one such kernel per output channel, results stacked;
# 3. **the $1 \times 1$ convolution**: a per-pixel fully-connected layer across channels;
# 4. what channels **cost**: parameters, multiply-accumulates, and the kernel you get by stacking
#    two convolutions.
#
# | graded function | points |
# |---|---|
# | `corr2d_multi_in` | 3 |
# | `corr2d_multi_in_out` | 3 |
# | `corr2d_multi_in_out_1x1` | 2 |
# | `conv2d_param_count` | 2 |
# | `conv2d_macs` | 3 |
# | `compose_kernels` | 3 |
# | two written questions | 2 + 2 |
#
# Shapes follow PyTorch: `(c, h, w)` for an image with channels and `(c_o, c_i, k_h, k_w)` for a
# kernel. Your functions must never modify their inputs, and must compute their answer themselves:
# `F.conv2d`, `nn.Conv2d` and friends are the oracles the tests use, not tools for your solution.

# %%
import torch
from torch import nn
from torch.nn import functional as F
from d2l import torch as d2l
from course import pair

# %% [markdown]
# ## Multiple input channels
#
# When the input has $c_i$ channels, the kernel needs $c_i$ channels too: one $k_h \times k_w$
# slice for each input channel. Each slice is cross-correlated with its own input channel, and
# the $c_i$ results are **added up** into a single two-dimensional output:
#
# $$Y = \sum_{c=1}^{c_i} X_c \star K_c, \qquad
#   Y[i, j] = \sum_{c=1}^{c_i} \sum_{a=0}^{k_h - 1} \sum_{b=0}^{k_w - 1} X[c, i + a, j + b]\, K[c, a, b].$$
#
# Why add and not keep the channels apart? Because a feature such as "a red edge" is a pattern
# *across* colours: the layer must be able to weigh every channel at every position of the window
# and combine them into one number. The output still has shape
# $(n_h - k_h + 1) \times (n_w - k_w + 1)$; the channel axis has been summed away.
#
# Here is the notes' example: a $2 \times 3 \times 3$ input and a $2 \times 2 \times 2$ kernel.
# Each channel on its own gives a familiar cross-correlation:

# %%
X = torch.tensor([[[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]],
                  [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]])
K = torch.tensor([[[0.0, 1.0], [2.0, 3.0]], [[1.0, 2.0], [3.0, 4.0]]])
print(d2l.corr2d(X[0], K[0]))
print(d2l.corr2d(X[1], K[1]))

# %% [markdown]
# The top-left output element adds both channels' windows:
# $(0 \cdot 0 + 1 \cdot 1 + 3 \cdot 2 + 4 \cdot 3) + (1 \cdot 1 + 2 \cdot 2 + 4 \cdot 3 + 5 \cdot 4)
# = 19 + 37 = 56$.
#
# ### Exercise 1 · `corr2d_multi_in` (3 points)
#
# - `X` has shape `(c_i, h, w)`, `K` has shape `(c_i, k_h, k_w)`.
# - Return the `(h - k_h + 1, w - k_w + 1)` tensor: channel `c` of `X` cross-correlated with
#   channel `c` of `K`, **summed** over all channels (not stacked, not averaged).
# - As in the notes you may use `d2l.corr2d` for each channel; `F.conv2d` and `nn.Conv2d` are not
#   allowed. Keep it differentiable (no `.item()`, no `torch.tensor(...)` around results).

# %% solution corr2d_multi_in

# %% [markdown]
# On the notes' example this gives the sum of the two maps above:

# %% raises-exception
corr2d_multi_in(X, K)

# %% tests test_corr2d_multi_in points=3
import torch
from torch.nn import functional as F
from course.checks import (expect_close, expect_gradient, expect_no_library, expect_shape,
                           expect_unchanged)

# The notes' example.
X = torch.tensor([[[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]],
                  [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]])
K = torch.tensor([[[0.0, 1.0], [2.0, 3.0]], [[1.0, 2.0], [3.0, 4.0]]])
expect_shape(corr2d_multi_in(X, K), (2, 2), "corr2d_multi_in(X, K) on the notes' example",
             hint="the channels are summed into one map, not stacked")
expect_close(corr2d_multi_in(X, K), torch.tensor([[56.0, 72.0], [104.0, 120.0]]),
             "corr2d_multi_in(X, K) on the notes' example",
             hint="add the per-channel cross-correlations, kernels not flipped "
                  "(19 + 37 = 56 at the top left)",
             mistakes={"averaged the channels? add them": [[28.0, 36.0], [52.0, 60.0]],
                       "kernel flipped? cross-correlation uses K as it is":
                       [[28.0, 44.0], [76.0, 92.0]],
                       "channels paired in reverse order? X[c] goes with K[c]":
                       [[52.0, 68.0], [100.0, 116.0]],
                       "only the first channel? sum over every channel":
                       [[19.0, 25.0], [37.0, 43.0]]})
expect_no_library(corr2d_multi_in, X, K, name="corr2d_multi_in")
# With a single channel it is plain cross-correlation.
expect_close(corr2d_multi_in(X[:1], K[:1]), torch.tensor([[19.0, 25.0], [37.0, 43.0]]),
             "corr2d_multi_in with one channel")
# ### BEGIN HIDDEN TESTS
g = torch.Generator().manual_seed(0)
# Ones everywhere: every output cell is c_i * k_h * k_w.
expect_close(corr2d_multi_in(torch.ones(3, 4, 5), torch.ones(3, 2, 2)), torch.full((3, 4), 12.0),
             "corr2d_multi_in on ones with 3 channels",
             hint="the output is one map: sum (not stack, not average) the per-channel "
                  "cross-correlations over all c_i channels")
# Channel c of X must meet channel c of K: X[0] is zero where K[0] is not, and vice versa.
X = torch.stack([torch.zeros(4, 4), torch.ones(4, 4)])
K = torch.stack([torch.ones(2, 2), torch.zeros(2, 2)])
expect_close(corr2d_multi_in(X, K), torch.zeros(3, 3), "corr2d_multi_in with channels paired",
             hint="paired channel c of X with another channel of K, or used only one channel?")
# One channel, asymmetric kernel, non-square input.
X = torch.randn(1, 5, 7, generator=g)
K = torch.randn(1, 2, 3, generator=g)
expect_close(corr2d_multi_in(X, K), F.conv2d(X[None], K[None])[0, 0],
             "corr2d_multi_in on a (1, 5, 7) input with a (1, 2, 3) kernel",
             hint="kernel flipped (that is convolution, not cross-correlation)?")
# Three channels, non-square input, rectangular kernel.
X = torch.randn(3, 6, 5, generator=g)
K = torch.randn(3, 3, 2, generator=g)
expect_shape(corr2d_multi_in(X, K), (4, 4), "corr2d_multi_in on a (3, 6, 5) input",
             hint="sum over channels into one (h - k_h + 1, w - k_w + 1) map")
result = expect_unchanged(corr2d_multi_in, X, K)
expect_close(result, F.conv2d(X[None], K[None])[0, 0],
             "corr2d_multi_in on a (3, 6, 5) input with a (3, 3, 2) kernel",
             hint="every output cell sums X[c, i+a, j+b] * K[c, a, b] over c, a and b")
# Four channels, a kernel as large as the input: one output cell.
X = torch.randn(4, 3, 2, generator=g)
K = torch.randn(4, 3, 2, generator=g)
expect_close(corr2d_multi_in(X, K), (X * K).sum().reshape(1, 1),
             "corr2d_multi_in with a kernel as large as the input", hint="off by one?")
# float64 input (a float32 result is fine).
X = torch.randn(2, 4, 5, generator=g, dtype=torch.float64)
K = torch.randn(2, 2, 3, generator=g, dtype=torch.float64)
expect_close(corr2d_multi_in(X, K), F.conv2d(X[None], K[None])[0, 0],
             "corr2d_multi_in on float64 input")
expect_gradient(corr2d_multi_in, X.float(), K.float())
result = expect_no_library(corr2d_multi_in, X.float(), K.float(), families=("convolution",))
# ### END HIDDEN TESTS

# %% [markdown]
# ## Multiple output channels
#
# One multi-input kernel detects one pattern. A layer wants many: edges in several directions,
# colours, textures. So we give it $c_o$ kernels of shape $c_i \times k_h \times k_w$, one per
# **output channel**, and stack their outputs. The whole kernel of the layer has shape
#
# $$c_o \times c_i \times k_h \times k_w,$$
#
# and output channel $o$ is $Y_o = \sum_{c} X_c \star K_{o, c}$. Popular architectures grow $c_o$
# as they go deeper while they shrink the height and width: they trade spatial resolution for
# more channels, i.e. for more kinds of features per location.
#
# The notes build a kernel with three output channels by stacking `K`, `K + 1` and `K + 2` (we
# rebuild the example's `X` and `K` here, since the test cell above used those names too):

# %%
X = torch.tensor([[[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]],
                  [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]])
K = torch.tensor([[[0.0, 1.0], [2.0, 3.0]], [[1.0, 2.0], [3.0, 4.0]]])
K = torch.stack((K, K + 1, K + 2), 0)
K.shape

# %% [markdown]
# Iterating over `K` walks along its first axis: one `(c_i, k_h, k_w)` kernel per output channel.

# %%
[k for k in K]

# %% [markdown]
# ### Exercise 2 · `corr2d_multi_in_out` (3 points)
#
# - `X` has shape `(c_i, h, w)`, `K` has shape `(c_o, c_i, k_h, k_w)`.
# - Return a `(c_o, h - k_h + 1, w - k_w + 1)` tensor whose channel `o` is
#   `corr2d_multi_in(X, K[o])`. Keep the output-channel axis first, even when `c_o` is 1.
# - You may call your `corr2d_multi_in`; no `F.conv2d` or `nn.Conv2d`.

# %% solution corr2d_multi_in_out

# %% [markdown]
# The first output channel is the result of the previous section; the other two come from
# `K + 1` and `K + 2`:

# %% raises-exception
corr2d_multi_in_out(X, K)

# %% tests test_corr2d_multi_in_out points=3
import torch
from torch.nn import functional as F
from course.checks import (expect_close, expect_gradient, expect_no_library, expect_shape,
                           expect_unchanged)

# The notes' example: three output channels from K, K + 1 and K + 2.
X = torch.tensor([[[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]],
                  [[1.0, 2.0, 3.0], [4.0, 5.0, 6.0], [7.0, 8.0, 9.0]]])
K = torch.tensor([[[0.0, 1.0], [2.0, 3.0]], [[1.0, 2.0], [3.0, 4.0]]])
K = torch.stack((K, K + 1, K + 2), 0)
expected = torch.tensor([[[56.0, 72.0], [104.0, 120.0]],
                         [[76.0, 100.0], [148.0, 172.0]],
                         [[96.0, 128.0], [192.0, 224.0]]])
expect_shape(corr2d_multi_in_out(X, K), (3, 2, 2), "corr2d_multi_in_out(X, K) on the notes' example",
             hint="one (h', w') map per output channel, stacked along a new first axis")
expect_close(corr2d_multi_in_out(X, K), expected, "corr2d_multi_in_out(X, K) on the notes' example",
             hint="output channel o is corr2d_multi_in(X, K[o]), kernels not flipped")
expect_no_library(corr2d_multi_in_out, X, K, name="corr2d_multi_in_out")
# ### BEGIN HIDDEN TESTS
g = torch.Generator().manual_seed(1)
# Two input channels, four output channels, non-square input, rectangular kernel.
X = torch.randn(2, 6, 5, generator=g)
K = torch.randn(4, 2, 2, 3, generator=g)
expect_shape(corr2d_multi_in_out(X, K), (4, 5, 3), "corr2d_multi_in_out with c_i=2, c_o=4",
             hint="output (c_o, h - k_h + 1, w - k_w + 1): stack (not concatenate) on axis 0")
result = expect_unchanged(corr2d_multi_in_out, X, K)
expect_close(result, F.conv2d(X[None], K)[0], "corr2d_multi_in_out with c_i=2, c_o=4",
             hint="output channel o uses K[o] (shape (c_i, k_h, k_w)) against all input channels, "
                  "summed, with the kernel not flipped")
# Three input channels, two output channels: K's first two axes are not interchangeable.
X = torch.randn(3, 4, 6, generator=g)
K = torch.randn(2, 3, 3, 2, generator=g)
expect_close(corr2d_multi_in_out(X, K), F.conv2d(X[None], K)[0],
             "corr2d_multi_in_out with c_i=3, c_o=2",
             hint="K is (c_o, c_i, k_h, k_w): loop over its first axis, not its second")
# A single output channel keeps its axis.
K = torch.randn(1, 3, 2, 2, generator=g)
expect_close(corr2d_multi_in_out(X, K), F.conv2d(X[None], K)[0],
             "corr2d_multi_in_out with one output channel",
             hint="keep the output-channel axis: the result is (1, h', w')")
# A kernel as large as the input gives (c_o, 1, 1).
X = torch.randn(2, 3, 4, generator=g)
K = torch.randn(3, 2, 3, 4, generator=g)
expect_close(corr2d_multi_in_out(X, K), F.conv2d(X[None], K)[0],
             "corr2d_multi_in_out with a kernel as large as the input")
# float64 input.
X = torch.randn(3, 5, 4, generator=g, dtype=torch.float64)
K = torch.randn(2, 3, 2, 2, generator=g, dtype=torch.float64)
expect_close(corr2d_multi_in_out(X, K), F.conv2d(X[None], K)[0],
             "corr2d_multi_in_out on float64 input")
expect_gradient(corr2d_multi_in_out, X.float(), K.float())
result = expect_no_library(corr2d_multi_in_out, X.float(), K.float(), families=("convolution",))
# ### END HIDDEN TESTS

# %% [markdown]
# ## The $1 \times 1$ convolutional layer
#
# A $1 \times 1$ kernel looks odd at first: with $k_h = k_w = 1$ the layer no longer sees
# neighbouring pixels, which is the very thing convolutions are good at. That is its drawback: it
# cannot recognise patterns made of interactions between adjacent positions.
#
# What it *can* do is mix channels. At every pixel $(i, j)$ it takes the $c_i$ input values and
# computes $c_o$ weighted sums of them:
#
# $$Y[o, i, j] = \sum_{c=1}^{c_i} K[o, c]\, X[c, i, j].$$
#
# That is a fully-connected layer with a $c_o \times c_i$ weight matrix, applied to each pixel on
# its own with the same weights. Flatten the pixels into columns, $X \to (c_i, h w)$, and the
# whole layer is **one matrix multiplication** $(c_o, c_i) \cdot (c_i, h w)$. Networks use it to
# change the number of channels between layers and to keep the model's size under control.
#
# The notes compare it with the general multi-channel correlation on random data; we seed the
# generator so that the numbers are the same every time:

# %%
torch.manual_seed(0)
X = torch.normal(0, 1, (3, 3, 3))
K = torch.normal(0, 1, (2, 3, 1, 1))
X.shape, K.shape

# %% [markdown]
# One pixel of the output is the $2 \times 3$ weight matrix times that pixel's 3 channel values:

# %%
Y = F.conv2d(X.unsqueeze(0), K).squeeze(0)
torch.allclose(Y[:, 1, 2], K[:, :, 0, 0] @ X[:, 1, 2])

# %% [markdown]
# ### Exercise 3 · `corr2d_multi_in_out_1x1` (2 points)
#
# - `X` has shape `(c_i, h, w)`, `K` has shape `(c_o, c_i, 1, 1)`.
# - Return the `(c_o, h, w)` output of the $1 \times 1$ convolution, computed as **one matrix
#   multiplication**: reshape `X` to `(c_i, h * w)` and `K` to `(c_o, c_i)`, multiply, and reshape
#   back to `(c_o, h, w)` (height first).
# - No `F.conv2d` or `nn.Conv2d`.

# %% solution corr2d_multi_in_out_1x1

# %% [markdown]
# The notes' check: the matrix multiplication agrees with the general multi-channel correlation.

# %% raises-exception
Y1 = corr2d_multi_in_out(X, K)
Y2 = corr2d_multi_in_out_1x1(X, K)
assert float(torch.abs(Y1 - Y2).sum()) < 1e-6

# %% tests test_corr2d_multi_in_out_1x1 points=2
import torch
from torch.nn import functional as F
from course.checks import (expect_close, expect_gradient, expect_no_library, expect_shape,
                           expect_unchanged)

# The notes' example (seeded): the 1x1 layer equals the general multi-channel correlation.
torch.manual_seed(0)
X = torch.normal(0, 1, (3, 3, 3))
K = torch.normal(0, 1, (2, 3, 1, 1))
expect_close(corr2d_multi_in_out_1x1(X, K), F.conv2d(X[None], K)[0],
             "corr2d_multi_in_out_1x1(X, K) on the notes' example",
             hint="X as a (c_i, h * w) matrix, K as (c_o, c_i): Y = K @ X, reshaped to "
                  "(c_o, h, w)")
expect_no_library(corr2d_multi_in_out_1x1, X, K, name="corr2d_multi_in_out_1x1")
# ### BEGIN HIDDEN TESTS
g = torch.Generator().manual_seed(2)
# Non-square pixels and c_o != c_i.
X = torch.randn(3, 3, 5, generator=g)
K = torch.randn(2, 3, 1, 1, generator=g)
expect_shape(corr2d_multi_in_out_1x1(X, K), (2, 3, 5), "corr2d_multi_in_out_1x1 on a (3, 3, 5) input",
             hint="reshape the product back to (c_o, h, w), height first")
result = expect_unchanged(corr2d_multi_in_out_1x1, X, K)
expect_close(result, F.conv2d(X[None], K)[0], "corr2d_multi_in_out_1x1 with c_i=3, c_o=2",
             hint="K[o, c, 0, 0] weighs input channel c for output channel o: reshape K to "
                  "(c_o, c_i) and X to (c_i, h * w) (pixels as columns), then multiply")
# More output channels than input channels, and a single output channel.
X = torch.randn(2, 3, 6, generator=g)
for c_o in (5, 1):
    K = torch.randn(c_o, 2, 1, 1, generator=g)
    expect_close(corr2d_multi_in_out_1x1(X, K), F.conv2d(X[None], K)[0],
                 f"corr2d_multi_in_out_1x1 with c_i=2, c_o={c_o}")
# float64 input.
X = torch.randn(4, 3, 2, generator=g, dtype=torch.float64)
K = torch.randn(3, 4, 1, 1, generator=g, dtype=torch.float64)
expect_close(corr2d_multi_in_out_1x1(X, K), F.conv2d(X[None], K)[0],
             "corr2d_multi_in_out_1x1 on float64 input")
expect_gradient(corr2d_multi_in_out_1x1, X.float(), K.float())
result = expect_no_library(corr2d_multi_in_out_1x1, X.float(), K.float(), families=("convolution",))
# ### END HIDDEN TESTS

# %% [markdown]
# ### Explore: channels
#
# Choose the input and output channels and the kernel size: the kernel tensor's shape, its
# parameter count and the multiply-accumulates of one forward pass, and what a $1 \times 1$
# convolution mixes at one pixel.

# %% widget
from course.explorers import channels_explorer
channels_explorer()

# %% [markdown]
# ## What channels cost: parameters
#
# Channels are where a convolutional layer keeps its parameters. The kernel has
# $c_o \cdot c_i \cdot k_h \cdot k_w$ weights, and each output channel has one bias:
#
# $$\#\text{params} = c_o\, c_i\, k_h\, k_w + c_o.$$
#
# Note what is *not* in the formula: the image size. Thanks to weight sharing, a $3 \times 3$
# layer has as many parameters on a $32 \times 32$ image as on a $1000 \times 1000$ one. PyTorch
# agrees:

# %%
layer = nn.Conv2d(3, 64, kernel_size=3)
layer.weight.shape, layer.bias.shape, sum(p.numel() for p in layer.parameters())

# %% [markdown]
# ### Exercise 4 · `conv2d_param_count` (2 points)
#
# Return, as an `int`, the number of parameters of a convolutional layer with `c_i` input
# channels, `c_o` output channels and a `k_h x k_w` window: the weights, plus one bias per output
# channel when `bias` is true. Don't build an `nn.Conv2d`: count.

# %% solution conv2d_param_count

# %% raises-exception
conv2d_param_count(3, 64, 3, 3), conv2d_param_count(3, 64, 3, 3, bias=False)

# %% tests test_conv2d_param_count points=2
from torch import nn
from course.checks import expect_count

expect_count(conv2d_param_count(3, 64, 3, 3), 1792, "conv2d_param_count(3, 64, 3, 3)",
             hint="64 * 3 * 3 * 3 weights + 64 biases")
expect_count(conv2d_param_count(3, 64, 3, 3, bias=False), 1728,
             "conv2d_param_count(3, 64, 3, 3, bias=False)", hint="no biases when bias=False")
# ### BEGIN HIDDEN TESTS
cases = [(1, 1, 1, 1, True), (1, 1, 1, 1, False), (2, 5, 3, 1, True), (5, 2, 1, 3, True),
         (4, 7, 2, 5, False), (7, 4, 5, 2, True), (16, 8, 1, 1, True), (3, 10, 7, 7, False)]
for c_i, c_o, k_h, k_w, bias in cases:
    layer = nn.Conv2d(c_i, c_o, (k_h, k_w), bias=bias)
    expected = sum(p.numel() for p in layer.parameters())
    expect_count(conv2d_param_count(c_i, c_o, k_h, k_w, bias=bias), expected,
                 f"conv2d_param_count({c_i}, {c_o}, {k_h}, {k_w}, bias={bias})",
                 hint="c_o * c_i * k_h * k_w weights (every output channel has a kernel for every "
                      "input channel) plus one bias per output channel, not per input channel")
# ### END HIDDEN TESTS

# %% [markdown]
# ## What channels cost: multiply-accumulates
#
# Parameters say how much a layer stores; the work it does depends on the image too. Every output
# cell of every output channel is a dot product of a $c_i \times k_h \times k_w$ window with a
# kernel: $c_i k_h k_w$ multiply-accumulate operations (MACs). With the output size from the
# previous chapter (per-side padding $p$, stride $s$),
#
# $$o_h = \left\lfloor \frac{n_h - k_h + 2 p_h + s_h}{s_h} \right\rfloor, \qquad
#   o_w = \left\lfloor \frac{n_w - k_w + 2 p_w + s_w}{s_w} \right\rfloor,$$
#
# one forward pass costs
#
# $$\#\text{MACs} = c_o \cdot o_h \cdot o_w \cdot c_i \cdot k_h \cdot k_w.$$
#
# (The bias additions are not counted: they are one addition per output cell, no multiply.)
# Here is the output size PyTorch computes for a padded $3 \times 3$ layer on a $32 \times 32$
# RGB image:

# %%
layer = nn.Conv2d(3, 64, kernel_size=3, padding=1)
layer(torch.zeros(1, 3, 32, 32)).shape

# %% [markdown]
# ### Exercise 5 · `conv2d_macs` (3 points)
#
# - `input_shape` is `(c_i, h, w)`, `kernel_shape` is `(c_o, c_i, k_h, k_w)`.
# - `padding` (per side) and `stride` are an int or an `(h, w)` pair; `pair` from `course` turns
#   an int into a pair.
# - Return, as an `int`, the number of multiply-accumulates of one forward pass (no bias).

# %% solution conv2d_macs

# %% [markdown]
# That padded layer on a 32 x 32 image does $64 \cdot 32 \cdot 32 \cdot 3 \cdot 3 \cdot 3$ MACs.
# Deeper in a network, with 64 channels in and out, a $3 \times 3$ layer costs nine times as much
# as a $1 \times 1$ layer on the same grid:

# %% raises-exception
(conv2d_macs((3, 32, 32), (64, 3, 3, 3), padding=1),
 conv2d_macs((64, 32, 32), (64, 64, 3, 3), padding=1),
 conv2d_macs((64, 32, 32), (64, 64, 1, 1)))

# %% tests test_conv2d_macs points=3
import torch
from torch.nn import functional as F
from course.checks import expect_count

expect_count(conv2d_macs((3, 32, 32), (64, 3, 3, 3), padding=1), 1769472,
             "conv2d_macs((3, 32, 32), (64, 3, 3, 3), padding=1)",
             hint="64 output channels x 32 x 32 output cells x 27 MACs per cell")
expect_count(conv2d_macs((2, 4, 4), (1, 2, 3, 3)), 72, "conv2d_macs((2, 4, 4), (1, 2, 3, 3))",
             hint="a 2 x 2 output, 2 * 3 * 3 MACs per output cell")
expect_count(conv2d_macs((1, 6, 8), (1, 1, 3, 5), stride=(1, 2)), 120,
             "conv2d_macs((1, 6, 8), (1, 1, 3, 5), stride=(1, 2))",
             hint="a 4 x 2 output, 15 MACs per output cell",
             mistakes={"ceil instead of floor? the output has floor((n - k + 2p + s) / s) cells "
                       "per axis": 180,
                       "height and width swapped? k_h goes with the height n_h": 90,
                       "stride ignored? a stride of 2 skips every other window": 240})
# ### BEGIN HIDDEN TESTS
cases = [((2, 7, 5), (4, 2, 3, 2), 0, 1),         # non-square input, rectangular kernel
         ((1, 8, 8), (1, 1, 3, 5), (0, 1), (3, 4)),  # the notes' last stride example: 2 x 2
         ((3, 8, 9), (2, 3, 3, 3), 1, 2),         # floor, not ceil
         ((3, 9, 6), (5, 3, 2, 3), (2, 1), (1, 2)),  # (h, w) pairs that differ
         ((2, 6, 7), (3, 2, 5, 3), 2, 1),         # padding 2 per side
         ((5, 6, 10), (3, 5, 1, 1), 0, 1),        # a 1 x 1 kernel
         ((2, 4, 3), (3, 2, 4, 3), 0, 1),         # a kernel as large as the input
         ((4, 11, 7), (6, 4, 3, 3), 1, (3, 2))]   # stride that does not divide
for input_shape, kernel_shape, padding, stride in cases:
    c_i, n_h, n_w = input_shape
    c_o, _, k_h, k_w = kernel_shape
    out = F.conv2d(torch.zeros(1, *input_shape), torch.zeros(kernel_shape), padding=padding,
                   stride=stride)
    _, _, o_h, o_w = out.shape
    expected = c_o * o_h * o_w * c_i * k_h * k_w
    expect_count(conv2d_macs(input_shape, kernel_shape, padding=padding, stride=stride), expected,
                 f"conv2d_macs({input_shape}, {kernel_shape}, padding={padding}, stride={stride})",
                 hint=f"the output is {o_h} x {o_w} per channel (floor((n - k + 2p + s) / s) with "
                      f"p per side, height from h, k_h, p_h, s_h) and every cell of the {c_o} "
                      f"output channels costs c_i * k_h * k_w = {c_i * k_h * k_w} MACs")
macs = expect_count(conv2d_macs((2, 7, 5), (4, 2, 3, 2)), 4 * 5 * 4 * 2 * 3 * 2,
                    "conv2d_macs((2, 7, 5), (4, 2, 3, 2)) with default padding and stride")
# ### END HIDDEN TESTS

# %% [markdown]
# ## Two convolutions in a row are one bigger convolution
#
# Stack two cross-correlations with nothing in between: first $K_1$ ($k_{1h} \times k_{1w}$),
# then $K_2$. Writing out the second one,
#
# $$\big((X \star K_1) \star K_2\big)[i, j]
#   = \sum_{u, v} K_2[u, v] \sum_{a, b} K_1[a, b]\, X[i + u + a,\, j + v + b],$$
#
# shows that the input cell at offset $(u + a, v + b)$ gets the weight $K_2[u, v]\,K_1[a, b]$.
# Collect those weights into one kernel,
#
# $$K[r, s] = \sum_{u + a = r,\; v + b = s} K_2[u, v]\, K_1[a, b],$$
#
# of size $(k_{1h} + k_{2h} - 1) \times (k_{1w} + k_{2w} - 1)$, and the two layers are a single
# cross-correlation with $K$. Two lessons: the receptive field grows by $k - 1$ per layer, and
# stacking *linear* layers buys no expressive power: the nonlinearities between layers do.
#
# Example: the notes' edge detector $[1, -1]$ applied twice is the second difference
# $[1, -2, 1]$:

# %%
E = torch.tensor([[1.0, -1.0]])
X = torch.tensor([[0.0, 1.0, 4.0, 9.0, 16.0]])
d2l.corr2d(d2l.corr2d(X, E), E), d2l.corr2d(X, torch.tensor([[1.0, -2.0, 1.0]]))

# %% [markdown]
# ### Exercise 6 · `compose_kernels` (3 points)
#
# - `K1` has shape `(k1_h, k1_w)`, `K2` has shape `(k2_h, k2_w)`.
# - Return the kernel `K` of shape `(k1_h + k2_h - 1, k1_w + k2_w - 1)` with
#   `corr2d(corr2d(X, K1), K2) == corr2d(X, K)` for every input `X`.
# - Loops and slicing are all you need; no `F.conv2d` or `F.conv_transpose2d`.

# %% solution compose_kernels

# %% raises-exception
compose_kernels(E, E)

# %% tests test_compose_kernels points=3
import torch
from torch.nn import functional as F
from course.checks import expect_close, expect_no_library, expect_shape, expect_unchanged

E = torch.tensor([[1.0, -1.0]])
expect_close(compose_kernels(E, E), torch.tensor([[1.0, -2.0, 1.0]]), "compose_kernels(E, E)",
             hint="the edge detector applied twice is the second difference [1, -2, 1]")
expect_no_library(compose_kernels, E, E, name="compose_kernels")
# ### BEGIN HIDDEN TESTS
g = torch.Generator().manual_seed(3)
# A 1 x 1 second kernel scales the first one.
K1 = torch.randn(2, 3, generator=g)
expect_close(compose_kernels(K1, torch.tensor([[2.0]])), 2 * K1, "compose_kernels(K1, [[2.]])")
# Rectangular kernels of different shapes.
K1 = torch.randn(1, 2, generator=g)
K2 = torch.randn(3, 1, generator=g)
expect_shape(compose_kernels(K1, K2), (3, 2), "compose_kernels of a (1, 2) and a (3, 1) kernel",
             hint="the composed kernel has shape (k1_h + k2_h - 1, k1_w + k2_w - 1)")
K1 = torch.randn(2, 3, generator=g)
K2 = torch.randn(3, 2, generator=g)
K = expect_unchanged(compose_kernels, K1, K2)
expect_shape(K, (4, 4), "compose_kernels of a (2, 3) and a (3, 2) kernel",
             hint="the composed kernel has shape (k1_h + k2_h - 1, k1_w + k2_w - 1)")
# Shifting by one column after K1: the composed kernel is K1 moved right, [[0, 1, 2]].
expect_close(compose_kernels(torch.tensor([[1.0, 2.0]]), torch.tensor([[0.0, 1.0]])),
             torch.tensor([[0.0, 1.0, 2.0]]), "compose_kernels([[1, 2]], [[0, 1]])",
             hint="K2 flipped? K[u + a, v + b] collects K2[u, v] * K1[a, b]")
# The defining property on an input: two correlations equal one with K.
X = torch.randn(7, 6, generator=g)
twice = F.conv2d(F.conv2d(X[None, None], K1[None, None]), K2[None, None])[0, 0]
once = F.conv2d(X[None, None], K.detach().to(X.dtype)[None, None])[0, 0]
expect_close(once, twice, "corr2d(X, compose_kernels(K1, K2)) against corr2d(corr2d(X, K1), K2)",
             hint="K[u + a, v + b] collects K2[u, v] * K1[a, b], with neither kernel flipped")
# float64 kernels.
K1 = torch.randn(3, 2, generator=g, dtype=torch.float64)
K2 = torch.randn(2, 2, generator=g, dtype=torch.float64)
expect_close(compose_kernels(K1, K2), F.conv_transpose2d(K1[None, None], K2[None, None])[0, 0],
             "compose_kernels on float64 kernels")
result = expect_no_library(compose_kernels, K1.float(), K2.float(), families=("convolution",))
# ### END HIDDEN TESTS

# %% [markdown]
# ## Questions
#
# **Question 1 (2 points).** A $1 \times 1$ convolution never looks at a pixel's neighbours. What can it do
# that makes it worth having in a network, what can it not do, and why is it the same as a
# fully-connected layer "applied per pixel"?

# %% [markdown] answer q_one_by_one points=2
# It mixes channels: at every pixel it maps the $c_i$ channel values to $c_o$ new ones with the
# same $c_o \times c_i$ weight matrix, so it can combine features (e.g. recombine colours or earlier
# feature maps) and change the number of channels cheaply, shrinking $c$ before an expensive
# $3 \times 3$ layer to control parameters and computation. It cannot detect spatial patterns,
# since no output cell depends on neighbouring pixels. Flattening the pixels into $h w$ columns
# turns it into $Y = W X$ with $W$ of shape $c_o \times c_i$: exactly a dense layer whose "examples"
# are the pixels, all sharing $W$.

# %% [markdown]
# **Question 2 (2 points).** Many networks halve the height and width of the feature maps while doubling
# the number of channels. Take a $3 \times 3$ layer with padding 1 from $c$ to $c$ channels on an
# $n \times n$ map, and the next stage: a $3 \times 3$ layer from $2c$ to $2c$ channels on an
# $n/2 \times n/2$ map. Use `conv2d_param_count` and `conv2d_macs` (or their formulas) to compare
# their parameters and their MACs, and say what the design buys.

# %% [markdown] answer q_channel_budget points=2
# Parameters: $9c^2 + c$ versus $9 \cdot 4c^2 + 2c$, about four times more for the deeper layer,
# since parameters grow with $c_o c_i$ and do not depend on the map size. MACs: $9c^2 n^2$ versus
# $9 \cdot 4c^2 \cdot n^2/4 = 9c^2 n^2$, the same: the four times more work per pixel is paid for
# by four times fewer pixels. The design keeps the computation per stage roughly constant while
# the network trades spatial resolution for more channels, i.e. more kinds of features, each
# seeing a larger part of the image.

# %% [markdown]
# ## Summary
#
# 1. With $c_i$ input channels the kernel has $c_i$ slices; their cross-correlations with the
#    matching input channels are **summed** into one output map.
# 2. With $c_o$ output channels the kernel has shape $c_o \times c_i \times k_h \times k_w$; each
#    output channel is one multi-input correlation, and the results are **stacked**.
# 3. A $1 \times 1$ convolution is a fully-connected layer applied to each pixel with shared
#    weights: one matrix multiplication. It adjusts the number of channels and controls the
#    model's complexity.
# 4. Channels hold the parameters ($c_o c_i k_h k_w + c_o$, independent of the image size) and
#    drive the cost ($c_o\, o_h\, o_w\, c_i k_h k_w$ MACs); two linear convolutions in a row are
#    a single convolution with a bigger kernel.
