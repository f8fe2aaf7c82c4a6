# %% [markdown]
# # 05 · Pooling
#
# A convolutional layer answers "is this pattern *here*?" for every position. Often we care less
# about the exact position: an edge one pixel to the left is still the same edge, and the final
# question ("is there a cat in the picture?") concerns the whole image. **Pooling** layers serve
# both needs: they make the representation less sensitive to small shifts, and, with a stride
# larger than one, they shrink the height and width of the feature maps.
#
# This chapter follows the notes: maximum and average pooling, then padding and stride, then
# several channels. Two extra exercises show how pooling relates to the rest of the course:
# average pooling is a convolution in disguise, and the maximum can be built from ReLUs.
#
# | graded function | points |
# |---|---|
# | `pool2d` | 3 |
# | `pool2d_pad_stride` | 4 |
# | `pool2d_multi_channel` | 3 |
# | `avg_pool_as_conv` | 3 |
# | `max_via_relu` | 3 |
# | two written questions | 2 + 2 |
#
# Your functions must not modify their inputs, and must compute the pooling themselves:
# `F.max_pool2d`, `F.avg_pool2d`, `nn.MaxPool2d` and `nn.AvgPool2d` are the oracles the tests use.

# %%
import torch
from torch import nn
from torch.nn import functional as F
from course import pair

# %% [markdown]
# ## Maximum pooling and average pooling
#
# Like a convolution, a pooling operator slides a fixed-shape window over the input and computes
# one output per position of the window. Unlike a convolution it has **no parameters**: the
# operation is fixed. For a $p \times q$ window ("$p \times q$ pooling"):
#
# $$\text{max pooling: } Y[i, j] = \max_{0 \le a < p,\ 0 \le b < q} X[i + a, j + b], \qquad
#   \text{average pooling: } Y[i, j] = \frac{1}{pq} \sum_{a=0}^{p-1} \sum_{b=0}^{q-1} X[i + a, j + b].$$
#
# With stride 1 and no padding the output has the same size as a cross-correlation's,
# $(n_h - p + 1) \times (n_w - q + 1)$.
#
# Why would this help? Take the vertical edge detector of chapter 2: its output is 1 exactly on
# the edge. Shift the image by one pixel and the 1 moves too. After $2 \times 2$ max pooling the
# output is 1 wherever the edge is *within* the window, so a shift of one pixel often changes
# nothing. Average pooling smooths instead: it reports how much of the window responds.
#
# ### Exercise 1 · `pool2d` (3 points)
#
# - `X` has shape `(h, w)`, `pool_size` is a pair `(p_h, p_w)` (the notes unpack it).
# - Stride 1, no padding: the output has shape `(h - p_h + 1, w - p_w + 1)`.
# - `mode='max'` takes the maximum of each window, `mode='avg'` its mean.
# - **Any other mode raises `ValueError`.** The notes' version silently returns a tensor of zeros
#   there, which hides typos such as `mode='mean'`; yours must complain.
# - Keep it differentiable (no `.item()`), and don't call a library pooling routine.

# %% solution pool2d

# %% [markdown]
# The notes' example, with a $2 \times 2$ window:

# %% raises-exception
X = torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])
pool2d(X, (2, 2))

# %% raises-exception
pool2d(X, (2, 2), mode='avg')

# %% tests test_pool2d points=3
import torch
from torch.nn import functional as F
from course.checks import (expect_close, expect_gradient, expect_no_library, expect_shape,
                           expect_unchanged)

# The notes' examples.
X = torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])
expect_close(pool2d(X, (2, 2)), torch.tensor([[4.0, 5.0], [7.0, 8.0]]), "pool2d(X, (2, 2))",
             mistakes={"stride equal to the window? pool2d slides the window one cell at a time":
                       [[4.0]]})
expect_close(pool2d(X, (2, 2), mode='avg'), torch.tensor([[2.0, 3.0], [5.0, 6.0]]),
             "pool2d(X, (2, 2), mode='avg')",
             mistakes={"sum instead of mean? divide by the p_h * p_w cells of the window":
                       [[8.0, 12.0], [20.0, 24.0]]})
expect_close(pool2d(X, (1, 2)), torch.tensor([[1.0, 2.0], [4.0, 5.0], [7.0, 8.0]]),
             "pool2d(X, (1, 2))",
             mistakes={"window height and width swapped? pool_size is (p_h, p_w)":
                       [[3.0, 4.0, 5.0], [6.0, 7.0, 8.0]]})
expect_no_library(pool2d, X, (2, 2), name="pool2d")
# An unknown mode is an error, not a tensor of zeros.
try:
    pool2d(X, (2, 2), mode='mean')
except ValueError:
    pass
except Exception as error:
    raise AssertionError(f"pool2d(X, (2, 2), mode='mean') raised {type(error).__name__}; "
                         "raise ValueError for an unknown mode") from None
else:
    raise AssertionError("pool2d(X, (2, 2), mode='mean') returned a result: raise ValueError for "
                         "an unknown mode (the notes' version silently returns zeros)")
# ### BEGIN HIDDEN TESTS
g = torch.Generator().manual_seed(0)
# Another unknown mode.
X = torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])
try:
    pool2d(X, (2, 2), mode='min')
except ValueError:
    pass
else:
    raise AssertionError("pool2d(X, (2, 2), mode='min') should raise ValueError")
# A rectangular window on a non-square input: p_h rows, p_w columns, stride 1.
X = torch.randn(5, 7, generator=g) - 1.0
expect_shape(pool2d(X, (2, 4)), (4, 4), "pool2d(X, (2, 4)) on a 5 x 7 input",
             hint="p_h rows and p_w columns, stride 1: (h - p_h + 1, w - p_w + 1)")
# Negative inputs: the maximum of negative numbers is negative.
X = -torch.arange(1.0, 13.0).reshape(3, 4)
expect_close(pool2d(X, (2, 2)), F.max_pool2d(X[None, None], (2, 2), stride=1)[0, 0],
             "pool2d on negative inputs", hint="started the running maximum at 0?")
# Both modes on the rectangular case.
X = torch.randn(5, 7, generator=g) - 1.0
result = expect_unchanged(pool2d, X, (2, 4))
expect_close(result, F.max_pool2d(X[None, None], (2, 4), stride=1)[0, 0],
             "pool2d(X, (2, 4)) on a 5 x 7 input",
             hint="window height and width swapped, or a stride other than 1?")
expect_close(pool2d(X, (3, 2), mode='avg'), F.avg_pool2d(X[None, None], (3, 2), stride=1)[0, 0],
             "pool2d(X, (3, 2), mode='avg') on a 5 x 7 input",
             hint="the mean of the p_h x p_w window: divide the sum by p_h * p_w")
# A window as large as the input, and a 1 x 1 window.
expect_close(pool2d(X, (5, 7)), X.max().reshape(1, 1), "pool2d with a window as large as the input",
             hint="off by one?")
expect_close(pool2d(X, (1, 1), mode='avg'), X, "pool2d with a 1 x 1 window")
# float64 input (a float32 result is fine).
X = torch.randn(4, 6, generator=g, dtype=torch.float64)
for mode, oracle in (('max', F.max_pool2d), ('avg', F.avg_pool2d)):
    expect_close(pool2d(X, (3, 2), mode=mode), oracle(X[None, None], (3, 2), stride=1)[0, 0],
                 f"pool2d(X, (3, 2), mode={mode!r}) on float64 input")
expect_gradient(pool2d, X.float(), (2, 2))
result = expect_no_library(pool2d, X.float(), (2, 2), families=("pooling",))
# ### END HIDDEN TESTS

# %% [markdown]
# ## Padding and stride
#
# Pooling layers take padding and stride just like convolutions, and the output size follows the
# same formula: for a window of height $k_h$, per-side padding $p_h$ (as PyTorch counts it) and
# stride $s_h$,
#
# $$o_h = \left\lfloor \frac{n_h - k_h + 2 p_h + s_h}{s_h} \right\rfloor,$$
#
# and the same for the width.
#
# Two conventions matter. First, PyTorch's pooling layers set the **stride to the window size** by
# default, so that windows tile the input without overlapping: `nn.MaxPool2d(3)` on a $4 \times 4$
# input gives a single output. Second, padded cells must not distort the result: max pooling pads
# with $-\infty$ (a padded cell is never the maximum), while average pooling pads with zeros and,
# by default (`count_include_pad=True`), still divides by the full window size.
#
# The notes' examples use a $4 \times 4$ input shaped `(examples, channels, height, width)`, as
# PyTorch's layers expect. (The notes call the layer `pool2d`; we call it `pool_layer` so that
# your `pool2d` function, and a helper of yours named `pool`, keep their names.)

# %%
X = torch.arange(16, dtype=torch.float32).reshape((1, 1, 4, 4))
X

# %%
pool_layer = nn.MaxPool2d(3)
pool_layer(X)

# %%
pool_layer = nn.MaxPool2d(3, padding=1, stride=2)
pool_layer(X)

# %% [markdown]
# A rectangular window with a different padding and stride for the height and the width:

# %%
pool_layer = nn.MaxPool2d((2, 3), stride=(2, 3), padding=(0, 1))
pool_layer(X)

# %% [markdown]
# Padding with zeros would be wrong for max pooling as soon as the input can be negative. Here
# every input is negative, and PyTorch never returns a padded zero:

# %%
nn.MaxPool2d(3, padding=1, stride=2)(-X - 1)

# %% [markdown]
# ### Exercise 2 · `pool2d_pad_stride` (4 points)
#
# - `X` has shape `(h, w)`. `pool_size`, `stride` and `padding` (per side) are each an int or an
#   `(h, w)` pair; `pair` from `course` turns an int into a pair.
# - The result equals `nn.MaxPool2d(pool_size, stride, padding)` (or `nn.AvgPool2d` for
#   `mode='avg'`) applied to `X` reshaped to `(1, 1, h, w)`, returned with shape `(h', w')`:
#   - `stride=None` means the stride equals the window size;
#   - the output size uses the floor: a window that does not fit is dropped;
#   - max pooling never picks a padded cell; average pooling counts the padded zeros in the
#     window (divide by `p_h * p_w`).
# - An unknown mode raises `ValueError`. No library pooling routine.

# %% solution pool2d_pad_stride

# %% [markdown]
# The three examples above, computed by your function on the `(4, 4)` input:

# %% raises-exception
X = torch.arange(16, dtype=torch.float32).reshape((4, 4))
pool2d_pad_stride(X, 3)

# %% raises-exception
pool2d_pad_stride(X, 3, padding=1, stride=2)

# %% raises-exception
pool2d_pad_stride(X, (2, 3), stride=(2, 3), padding=(0, 1))

# %% tests test_pool2d_pad_stride points=4
import torch
from torch.nn import functional as F
from course.checks import (expect_close, expect_gradient, expect_no_library, expect_shape,
                           expect_unchanged)

# The notes' examples on the 4 x 4 input.
X = torch.arange(16, dtype=torch.float32).reshape((4, 4))
expect_close(pool2d_pad_stride(X, 3), torch.tensor([[10.0]]), "pool2d_pad_stride(X, 3)",
             hint="the stride defaults to the window size")
expect_close(pool2d_pad_stride(X, 3, padding=1, stride=2), torch.tensor([[5.0, 7.0], [13.0, 15.0]]),
             "pool2d_pad_stride(X, 3, padding=1, stride=2)",
             mistakes={"padding only at the bottom and right? padding=1 adds a row on top and "
                       "a column on the left too": [[10.0, 11.0], [14.0, 15.0]],
                       "ceil instead of floor? a window that hangs over the padded edge is not "
                       "computed": [[5.0, 7.0, 7.0], [13.0, 15.0, 15.0], [13.0, 15.0, 15.0]]})
expect_close(pool2d_pad_stride(X - 8, 3, padding=1, stride=2),
             torch.tensor([[-3.0, -1.0], [5.0, 7.0]]),
             "pool2d_pad_stride(X - 8, 3, padding=1, stride=2)",
             mistakes={"max pooling picked a padded zero? a padded cell never wins the max "
                       "(pad with -inf)": [[0.0, 0.0], [5.0, 7.0]]})
expect_close(pool2d_pad_stride(X, 3, padding=1, stride=2, mode='avg'),
             torch.tensor([[10 / 9, 24 / 9], [51 / 9, 90 / 9]]),
             "pool2d_pad_stride(X, 3, padding=1, stride=2, mode='avg')",
             mistakes={"the padded cells left out of the average? PyTorch counts them as zeros "
                       "(count_include_pad=True)": [[2.5, 4.0], [8.5, 10.0]]})
expect_gradient(pool2d_pad_stride, X, 3, name="pool2d_pad_stride")
expect_no_library(pool2d_pad_stride, X, 3, 2, 1, name="pool2d_pad_stride")
expect_close(pool2d_pad_stride(X, (2, 3), stride=(2, 3), padding=(0, 1)),
             torch.tensor([[5.0, 7.0], [13.0, 15.0]]),
             "pool2d_pad_stride(X, (2, 3), stride=(2, 3), padding=(0, 1))")
# ### BEGIN HIDDEN TESTS
g = torch.Generator().manual_seed(1)
# The stride defaults to the window, also for rectangular windows.
X = torch.randn(6, 9, generator=g)
expect_shape(pool2d_pad_stride(X, (2, 3)), (3, 3), "pool2d_pad_stride(X, (2, 3)) on a 6 x 9 input",
             hint="stride=None means stride = window: (2, 3)")
# Floor, not ceil: the last window that does not fit is dropped.
X = torch.randn(5, 7, generator=g)
expect_shape(pool2d_pad_stride(X, 2), (2, 3), "pool2d_pad_stride(X, 2) on a 5 x 7 input",
             hint="floor, not ceil: a window that sticks out of the (padded) input is dropped")
# Padding on both sides (positive inputs: zero padding would not matter here).
X = torch.rand(5, 6, generator=g) + 1.0
expect_close(pool2d_pad_stride(X, 3, stride=1, padding=1),
             F.max_pool2d(X[None, None], 3, stride=1, padding=1)[0, 0],
             "pool2d_pad_stride(X, 3, stride=1, padding=1) on a 5 x 6 positive input",
             hint="padding only on one side? `padding` rows go on the top AND the bottom, "
                  "`padding` columns on the left AND the right")
# Negative inputs with padding: a padded cell must never be the maximum.
X = -torch.arange(1.0, 21.0).reshape(4, 5)
expect_close(pool2d_pad_stride(X, 3, stride=2, padding=1),
             F.max_pool2d(X[None, None], 3, stride=2, padding=1)[0, 0],
             "max pooling of negative inputs with padding=1",
             hint="max pooling picked a padded cell? Pad with -inf (or skip padded cells), not 0")
# Average pooling with padding divides by the whole window (count_include_pad=True).
X = torch.ones(4, 4)
expect_close(pool2d_pad_stride(X, 3, stride=1, padding=1, mode='avg'),
             F.avg_pool2d(X[None, None], 3, stride=1, padding=1)[0, 0],
             "average pooling of ones with padding=1",
             hint="count_include_pad? PyTorch's AvgPool2d divides by p_h * p_w, padded zeros "
                  "included (a corner window of ones gives 4/9)")
# Rectangular windows with (h, w) strides and paddings that differ, both modes.
X = torch.randn(7, 5, generator=g) - 0.5
cases = [((3, 2), (2, 1), (1, 0)), ((2, 3), (1, 3), (0, 1)), ((2, 4), (3, 2), (1, 2)),
         (3, (2, 3), 1), ((4, 2), 1, (2, 1))]
for pool_size, stride, padding in cases:
    for mode, oracle in (('max', F.max_pool2d), ('avg', F.avg_pool2d)):
        expect_close(pool2d_pad_stride(X, pool_size, stride=stride, padding=padding, mode=mode),
                     oracle(X[None, None], pool_size, stride=stride, padding=padding)[0, 0],
                     f"pool2d_pad_stride(X, {pool_size}, stride={stride}, padding={padding}, "
                     f"mode={mode!r}) on a 7 x 5 input",
                     hint="the first number of each pair is for the height (rows), the second "
                          "for the width (columns)")
# A window as large as the input.
expect_close(pool2d_pad_stride(X, (7, 5), mode='avg'), X.mean().reshape(1, 1),
             "pool2d_pad_stride with a window as large as the input")
# An unknown mode.
try:
    pool2d_pad_stride(X, 2, mode='sum')
except ValueError:
    pass
else:
    raise AssertionError("pool2d_pad_stride(X, 2, mode='sum') should raise ValueError")
# float64 input, the input left alone, the gradient kept, no library pooling.
X = torch.randn(5, 6, generator=g, dtype=torch.float64)
expect_close(pool2d_pad_stride(X, 2, stride=1, padding=1),
             F.max_pool2d(X[None, None], 2, stride=1, padding=1)[0, 0],
             "pool2d_pad_stride on float64 input")
expect_unchanged(pool2d_pad_stride, X, 3, 2, 1)
expect_gradient(pool2d_pad_stride, X.float(), 3, 2, 1)
expect_gradient(pool2d_pad_stride, X.float(), 2, mode='avg')
result = expect_no_library(pool2d_pad_stride, X.float(), 3, 2, 1, families=("pooling",))
# ### END HIDDEN TESTS

# %% [markdown]
# ### Explore: pooling
#
# Window, stride, padding and max or average on a small image with its values written in the
# cells; pick an output cell to see which input cell it came from. The `pool2d_pad_stride` you ran
# last is compared with PyTorch's: the explorer redraws after any cell that changes it, and its
# caption names that cell.

# %% widget
from course.explorers import pooling_explorer
pooling_explorer()

# %% [markdown]
# ## Multiple channels
#
# With several input channels, a pooling layer pools **each channel on its own**. It does not
# sum over channels the way a convolution does, so the number of output channels equals the number
# of input channels: pooling cannot change the channel count. The notes stack `X` and `X + 1` into
# two channels:

# %%
X = torch.arange(16, dtype=torch.float32).reshape((1, 1, 4, 4))
X = torch.cat((X, X + 1), 1)
X

# %%
pool_layer = nn.MaxPool2d(3, padding=1, stride=2)
pool_layer(X)

# %% [markdown]
# ### Exercise 3 · `pool2d_multi_channel` (3 points)
#
# - `X` has shape `(c, h, w)`; the other arguments mean what they mean for `pool2d_pad_stride`.
# - Return the `(c, h', w')` result of pooling every channel separately (keep the channel axis
#   even when `c` is 1). You may call your `pool2d_pad_stride`; no library pooling routine.

# %% solution pool2d_multi_channel

# %% [markdown]
# The same two-channel example, without the batch axis:

# %% raises-exception
pool2d_multi_channel(X[0], 3, padding=1, stride=2)

# %% tests test_pool2d_multi_channel points=3
import torch
from torch.nn import functional as F
from course.checks import (expect_close, expect_gradient, expect_no_library, expect_shape,
                           expect_unchanged)

# The notes' example: channels X and X + 1.
X = torch.arange(16, dtype=torch.float32).reshape((4, 4))
X = torch.stack((X, X + 1))
expect_close(pool2d_multi_channel(X, 3, padding=1, stride=2),
             torch.tensor([[[5.0, 7.0], [13.0, 15.0]], [[6.0, 8.0], [14.0, 16.0]]]),
             "pool2d_multi_channel(X, 3, padding=1, stride=2) on the notes' two channels",
             hint="pool every channel on its own and stack the results")
expect_no_library(pool2d_multi_channel, X, 3, 2, 1, name="pool2d_multi_channel")
# ### BEGIN HIDDEN TESTS
g = torch.Generator().manual_seed(2)
# Channels on very different scales: pooling must not mix them.
X = torch.stack([torch.randn(5, 6, generator=g) + 10.0, torch.randn(5, 6, generator=g) - 10.0,
                 torch.randn(5, 6, generator=g)])
expect_shape(pool2d_multi_channel(X, (2, 3)), (3, 2, 2),
             "pool2d_multi_channel(X, (2, 3)) on a (3, 5, 6) input",
             hint="c channels in, c channels out; the stride defaults to the window")
result = expect_unchanged(pool2d_multi_channel, X, (2, 3))
expect_close(result, F.max_pool2d(X[None], (2, 3))[0],
             "pool2d_multi_channel(X, (2, 3)) on a (3, 5, 6) input",
             hint="pooled across channels? Each channel is pooled on its own")
# Padding and stride pairs, negative values, both modes.
X = torch.randn(2, 7, 5, generator=g) - 1.0
cases = [(3, 2, 1), ((3, 2), (2, 1), (1, 0)), ((2, 3), (1, 2), (1, 1))]
for pool_size, stride, padding in cases:
    for mode, oracle in (('max', F.max_pool2d), ('avg', F.avg_pool2d)):
        expect_close(pool2d_multi_channel(X, pool_size, stride=stride, padding=padding, mode=mode),
                     oracle(X[None], pool_size, stride=stride, padding=padding)[0],
                     f"pool2d_multi_channel(X, {pool_size}, stride={stride}, padding={padding}, "
                     f"mode={mode!r}) on a (2, 7, 5) input",
                     hint="pool each channel like pool2d_pad_stride: padding on every side of "
                          "every channel, -inf padding for max, the whole window for avg")
# A single channel keeps its axis.
X = torch.randn(1, 4, 6, generator=g)
expect_close(pool2d_multi_channel(X, 2), F.max_pool2d(X[None], 2)[0],
             "pool2d_multi_channel on a (1, 4, 6) input",
             hint="keep the channel axis: the result is (1, h', w')")
# float64 input, the gradient kept, no library pooling.
X = torch.randn(3, 4, 5, generator=g, dtype=torch.float64)
expect_close(pool2d_multi_channel(X, 2, stride=1, mode='avg'),
             F.avg_pool2d(X[None], 2, stride=1)[0], "pool2d_multi_channel on float64 input")
expect_gradient(pool2d_multi_channel, X.float(), 2)
result = expect_no_library(pool2d_multi_channel, X.float(), 3, 2, 1, families=("pooling",))
# An unknown mode is an error, as for pool2d_pad_stride.
for mode in ("mean", "min", ""):
    try:
        pool2d_multi_channel(X, 2, mode=mode)
    except ValueError:
        continue
    except Exception as error:
        raise AssertionError(f"pool2d_multi_channel(X, 2, mode={mode!r}) raised "
                             f"{type(error).__name__}; raise ValueError for an unknown mode") \
            from None
    raise AssertionError(f"pool2d_multi_channel(X, 2, mode={mode!r}) returned a result: raise "
                         "ValueError for an unknown mode")
# ### END HIDDEN TESTS

# %% [markdown]
# ## Average pooling is a convolution
#
# Average pooling with a $p_h \times p_w$ window is a weighted sum with all weights equal to
# $1/(p_h p_w)$: a cross-correlation with a constant kernel. Two details turn it into a
# convolutional layer:
#
# - **stride** $= (p_h, p_w)$, the pooling default;
# - **one kernel per channel, no mixing**. A plain $c \times c \times p_h \times p_w$ convolution
#   would sum over input channels. Either use a kernel whose off-diagonal channel pairs are zero,
#   or use `F.conv2d(..., groups=c)`, which splits the channels into $c$ groups that are
#   correlated separately (the kernel then has shape $(c, 1, p_h, p_w)$).
#
# So average pooling is a convolution with *fixed* weights. Max pooling is not: the maximum is not
# a weighted sum. That is the difference the written question at the end asks about.
#
# ### Exercise 4 · `avg_pool_as_conv` (3 points)
#
# - `X` has shape `(c, h, w)`; `pool_size` is a pair `(p_h, p_w)`.
# - Return the `(c, h // p_h, w // p_w)` average pooling of `X` with stride equal to the window and
#   no padding, written as a convolution: `F.conv2d` is allowed here, pooling routines are not.
# - Build the kernel with `X`'s dtype, so that a float64 input works too.

# %% solution avg_pool_as_conv

# %% raises-exception
X = torch.arange(16, dtype=torch.float32).reshape((1, 4, 4))
avg_pool_as_conv(torch.cat((X, X + 1)), (2, 2))

# %% tests test_avg_pool_as_conv points=3
import torch
from torch.nn import functional as F
from course.checks import expect_close, expect_no_library, expect_shape, expect_unchanged

X = torch.arange(16, dtype=torch.float32).reshape((1, 4, 4))
X = torch.cat((X, X + 1))
expect_close(avg_pool_as_conv(X, (2, 2)),
             torch.tensor([[[2.5, 4.5], [10.5, 12.5]], [[3.5, 5.5], [11.5, 13.5]]]),
             "avg_pool_as_conv(X, (2, 2)) on two 4 x 4 channels",
             hint="kernel weights 1 / (p_h * p_w), stride = window, one kernel per channel")
expect_no_library(avg_pool_as_conv, X, (2, 2), name="avg_pool_as_conv")
# ### BEGIN HIDDEN TESTS
g = torch.Generator().manual_seed(3)
# Ones: every average is 1.
X = torch.ones(2, 4, 6)
expect_close(avg_pool_as_conv(X, (2, 2)), torch.ones(2, 2, 3), "avg_pool_as_conv on ones",
             hint="the weights must be 1 / (p_h * p_w), the stride the window, and the "
                  "channels must not be summed")
# One channel of ones, one of zeros: the zeros stay zeros.
X = torch.stack([torch.ones(4, 4), torch.zeros(4, 4)])
expect_close(avg_pool_as_conv(X, (2, 2)), torch.stack([torch.ones(2, 2), torch.zeros(2, 2)]),
             "avg_pool_as_conv on a channel of ones and a channel of zeros",
             hint="pooled across channels? Use groups=c (or a kernel with zero off-diagonal "
                  "channel pairs)")
# A rectangular window on a non-square input that it does not divide.
X = torch.randn(3, 5, 7, generator=g)
expect_shape(avg_pool_as_conv(X, (2, 3)), (3, 2, 2), "avg_pool_as_conv(X, (2, 3)) on a (3, 5, 7) input",
             hint="stride = window (p_h, p_w); the rows and columns that do not fill a window "
                  "are dropped")
result = expect_unchanged(avg_pool_as_conv, X, (2, 3))
expect_close(result, F.avg_pool2d(X[None], (2, 3))[0],
             "avg_pool_as_conv(X, (2, 3)) on a (3, 5, 7) input",
             hint="the kernel is p_h rows by p_w columns")
X = torch.randn(1, 6, 6, generator=g)
expect_close(avg_pool_as_conv(X, (3, 1)), F.avg_pool2d(X[None], (3, 1))[0],
             "avg_pool_as_conv(X, (3, 1)) on one channel")
# float64 input.
X = torch.randn(2, 4, 4, generator=g, dtype=torch.float64)
try:
    result = avg_pool_as_conv(X, (2, 2))
except RuntimeError as error:
    raise AssertionError(f"avg_pool_as_conv fails on float64 input ({error}): build the kernel "
                         "with X's dtype") from None
expect_close(result, F.avg_pool2d(X[None], (2, 2))[0], "avg_pool_as_conv on float64 input")
result = expect_no_library(avg_pool_as_conv, X, (2, 2), families=("pooling",))
# ### END HIDDEN TESTS

# %% [markdown]
# ## The maximum from ReLUs
#
# Max pooling looks like a new kind of operation, but the maximum of two numbers is made of the
# same ingredients as an ordinary network: for any $a, b$,
#
# $$\max(a, b) = b + \operatorname{ReLU}(a - b),$$
#
# since $\operatorname{ReLU}(a - b)$ is $a - b$ when $a > b$ and $0$ otherwise. Applying it
# pairwise, a $2 \times 2$ max pool is three such steps: $\max(\max(x_1, x_2), \max(x_3, x_4))$.
# So a network of linear layers and ReLUs can compute max pooling exactly; pooling layers are a
# cheap, parameter-free shortcut with the right inductive bias built in.
#
# ### Exercise 5 · `max_via_relu` (3 points)
#
# - `a` and `b` are tensors of the same shape; return their elementwise maximum.
# - Use only `torch.relu` (or `F.relu`), addition and subtraction: no `max`, `maximum`, `where`,
#   `clamp`, comparisons or sorting. The test checks which operations your code runs.

# %% solution max_via_relu

# %% raises-exception
max_via_relu(torch.tensor([1.0, -2.0, 3.0, 0.0]), torch.tensor([0.0, -1.0, 5.0, 0.0]))

# %% tests test_max_via_relu points=3
import torch
from course.checks import expect_close, expect_no_library, expect_unchanged, traced_call

a = torch.tensor([1.0, -2.0, 3.0, 0.0])
b = torch.tensor([0.0, -1.0, 5.0, 0.0])
expect_close(max_via_relu(a, b), torch.tensor([1.0, -1.0, 5.0, 0.0]), "max_via_relu(a, b)",
             hint="max(a, b) = b + relu(a - b)",
             mistakes={"relu(a) + relu(b)? that is wrong when an input is negative":
                       [1.0, 0.0, 8.0, 0.0],
                       "the minimum? a - relu(a - b) is min(a, b); max(a, b) = b + relu(a - b)":
                       [0.0, -2.0, 3.0, 0.0]})
expect_no_library(max_via_relu, a, b, name="max_via_relu")
# ### BEGIN HIDDEN TESTS
g = torch.Generator().manual_seed(4)
# Random 2-D inputs with ties, all signs.
a = torch.randn(4, 5, generator=g)
b = torch.randn(4, 5, generator=g)
b[0] = a[0]
expect_close(expect_unchanged(max_via_relu, a, b), torch.maximum(a, b), "max_via_relu on 4 x 5 inputs",
             hint="max(a, b) = b + relu(a - b) (a - relu(a - b) is the minimum, and "
                  "relu(a) + relu(b) is wrong for negative inputs)")
# Both negative.
a, b = -torch.rand(6, generator=g) - 1.0, -torch.rand(6, generator=g) - 1.0
expect_close(max_via_relu(a, b), torch.maximum(a, b), "max_via_relu on negative inputs",
             hint="is the result the maximum, not the minimum, and not clipped at 0?")
# float64 input.
a = torch.randn(3, 3, generator=g, dtype=torch.float64)
b = torch.randn(3, 3, generator=g, dtype=torch.float64)
result, ops = traced_call(max_via_relu, a, b)
expect_close(result, torch.maximum(a, b), "max_via_relu on float64 input")
# Only relu, addition and subtraction (and their scalar forms) may run.
banned = {"max", "maximum", "amax", "fmax", "min", "minimum", "amin", "fmin", "where", "clamp",
          "clamp_min", "clamp_max", "clip", "gt", "lt", "ge", "le", "sort", "topk", "argmax",
          "argmin", "kthvalue", "masked_fill", "sign", "heaviside"}
used = sorted(op for op in ops if op.rstrip("_") in banned)
assert not used, (f"max_via_relu uses {', '.join(used)}: the point is to build the maximum from "
                  "relu, + and - only (a library routine that is the answer)")
# ### END HIDDEN TESTS

# %% [markdown]
# ## Questions
#
# **Question 1 (2 points).** Max pooling and average pooling summarise a window differently. Describe one
# situation where they give very different outputs (for instance the output of an edge detector,
# or a feature that lights up in a single pixel), and explain how each one behaves when the
# input is shifted by one pixel. Which is a convolution, and which is not?

# %% [markdown] answer q_max_vs_avg points=2
# Take a feature map that is 1 on a thin edge and 0 elsewhere. A $2 \times 2$ max pool outputs 1
# for every window that contains the edge, whatever its position inside the window, so a one-pixel
# shift often leaves the output unchanged: max pooling reports *whether* the feature is present and
# is robust to small translations. Average pooling outputs $1/2$ or $1/4$ depending on how much of
# the window the edge covers; after a shift the values change and spread: it reports *how much* of
# the window responds, smoothing and diluting a sparse, strong response. Average pooling is linear:
# a convolution with fixed weights $1/(p_h p_w)$. Max pooling is nonlinear and is not a convolution
# (it can be built from ReLUs instead).

# %% [markdown]
# **Question 2 (2 points).** Both a pooling layer with stride 2 and a convolutional layer with stride 2
# halve the height and width. Why do networks downsample at all, and what is the difference
# between the two ways of doing it?

# %% [markdown] answer q_downsampling points=2
# Downsampling makes later layers cheaper (four times fewer positions per halving, so the channels
# can grow) and makes each later unit see a larger part of the input (its receptive field grows
# faster), which the final, global decisions need. A pooling layer downsamples with a fixed rule
# and no parameters, and it works on each channel separately, so it cannot mix or add channels; it
# also brings some invariance to small shifts. A strided convolution learns how to summarise each
# window (it has $c_o c_i k_h k_w$ weights) and mixes channels, at the price of parameters and
# computation, and it computes only every second output, skipping positions rather than
# summarising them.

# %% [markdown]
# ## Summary
#
# 1. Max pooling outputs the largest value of each window, average pooling its mean; pooling has
#    no parameters.
# 2. Pooling makes the representation less sensitive to the exact location of a feature.
# 3. Pooling layers take padding and stride like convolutions; PyTorch's default stride is the
#    window size. Max pooling never picks a padded cell; average pooling (by default) counts the
#    padded zeros.
# 4. Max pooling with a stride larger than 1 reduces the spatial dimensions (height and width).
# 5. Pooling works on every channel separately: the number of output channels equals the number of
#    input channels; pooling cannot change it.
# 6. Average pooling is a convolution with fixed weights $1/(p_h p_w)$, one kernel per channel; the
#    maximum of two numbers is $b + \operatorname{ReLU}(a - b)$.
