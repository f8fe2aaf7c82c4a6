# %% [markdown]
# # 03 · Padding and stride
#
# In chapter 2 a cross-correlation of an $n_h \times n_w$ input with a $k_h \times k_w$ kernel gave
# an output of shape $(n_h - k_h + 1) \times (n_w - k_w + 1)$: the kernel has to fit inside the
# image. That causes two problems, pulling in opposite directions.
#
# - **Outputs shrink.** Every layer trims $k - 1$ rows and columns. Ten $5 \times 5$ layers turn a
#   $240 \times 240$ image into $200 \times 200$: almost a third of the pixels gone, and with them
#   whatever was happening at the border. Even before that, border pixels count less: a corner
#   pixel takes part in exactly one window, a central one in $k_h k_w$ windows.
# - **Outputs do not shrink fast enough.** A high-resolution image carries far more pixels than a
#   classifier needs, and shrinking it only by $k - 1$ per layer wastes computation.
#
# **Padding** answers the first problem, **stride** the second. This chapter follows the notes:
# padding first, then stride. Then you implement both, plus two variations.
#
# | graded function | points |
# | --- | --- |
# | `conv_output_shape` | 3 |
# | `pad2d` | 3 |
# | `corr2d_pad_stride` | 4 |
# | `same_padding` | 3 |
# | `mirror_pad2d` | 3 |
# | two written questions | 2 + 2 |
#
# **How this notebook works.** Replace each `raise NotImplementedError()` with your code and run
# the test cell below it. The visible checks are a sample; hidden tests with other inputs decide
# the grade. Never modify the tensors you are given, and compute the answer yourself: the library
# routines that *are* the answers (`F.pad`, `F.conv2d`, `nn.Conv2d`, ...) are for checking only.

# %%
import torch
from torch import nn
from torch.nn import functional as F
from course import pair

# %% [markdown]
# ## 1 · Padding
#
# Padding surrounds the input with extra rows and columns, usually of zeros. Here a $3 \times 3$
# input grows to $5 \times 5$ with one row of zeros on top and bottom and one column left and
# right:

# %%
X = torch.arange(9.0).reshape(3, 3)
F.pad(X, (1, 1, 1, 1))  # (left, right, top, bottom)

# %% [markdown]
# Cross-correlating the padded input with a $2 \times 2$ kernel gives a $4 \times 4$ output, larger
# than the input. The top-left output is $0 \cdot 0 + 0 \cdot 1 + 0 \cdot 2 + 0 \cdot 3 = 0$: that
# window sees only the zero frame and the input's corner $X[0, 0] = 0$.

# %%
K = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
F.conv2d(X.reshape(1, 1, 3, 3), K.reshape(1, 1, 2, 2), padding=1)

# %% [markdown]
# ### How big is the output?
#
# Add $p_h$ rows on top **and** $p_h$ rows at the bottom, $p_w$ columns on the left **and** $p_w$ on
# the right. The padded input is $(n_h + 2p_h) \times (n_w + 2p_w)$, so the output is
#
# $$(n_h - k_h + 2p_h + 1) \times (n_w - k_w + 2p_w + 1).$$
#
# > **Careful: two conventions.** The notes (following D2L) write the output as
# > $(n_h - k_h + p_h + 1)$, because there $p_h$ is the *total* number of rows added, top and bottom
# > together. PyTorch's `padding=p` is the number added on *each* side, as in the formula above,
# > and so are the `padding` arguments of this course. The notes' $p_h$ is our $2p_h$.
#
# Often we want the output to have the same height and width as the input, which makes the shape
# of every layer easy to predict. That needs $2p_h = k_h - 1$ (and $2p_w = k_w - 1$):
#
# - For an **odd** $k_h$, pad $p_h = (k_h - 1)/2$ rows on both sides.
# - For an **even** $k_h$ the total $k_h - 1$ is odd and cannot be split evenly. The notes put
#   $\lceil (k_h - 1)/2 \rceil$ rows on top and $\lfloor (k_h - 1)/2 \rfloor$ at the bottom.
#   PyTorch's integer `padding` cannot do that (it pads both sides equally); its
#   `padding='same'` can, but it puts the extra row at the *bottom*. Both keep the size; their
#   outputs differ by a shift of one pixel.
#
# That is why CNNs almost always use odd kernels (1, 3, 5, 7): the padding is the same on all
# sides, and the output $Y[i, j]$ is computed by the window *centred* on the input $X[i, j]$.
#
# The notes check this with PyTorch. `comp_conv2d` adds the batch and channel dimensions that
# `nn.Conv2d` expects, and removes them again:

# %%
import torch
from torch import nn

torch.manual_seed(0)  # the layers and X are random; only the shapes matter here


def comp_conv2d(conv2d, X):
    X = X.reshape((1, 1) + X.shape)  # (batch size, channels, height, width)
    Y = conv2d(X)
    return Y.reshape(Y.shape[2:])  # drop the batch and channel dimensions


conv2d = nn.Conv2d(1, 1, kernel_size=3, padding=1)
X = torch.rand(size=(8, 8))
comp_conv2d(conv2d, X).shape

# %%
# A kernel of height 5 and width 3: pad 2 rows on each side of the height and 1 column on
# each side of the width.
conv2d = nn.Conv2d(1, 1, kernel_size=(5, 3), padding=(2, 1))
comp_conv2d(conv2d, X).shape

# %% [markdown]
# ## 2 · Stride
#
# So far the window moved one cell at a time. With a **stride** of $s_h$ rows and $s_w$ columns it
# jumps: the window starts at rows $0, s_h, 2s_h, \dots$ and columns $0, s_w, 2s_w, \dots$. Here is
# the padded example from above with a stride of 3 down and 2 across:

# %%
X_small = torch.arange(9.0).reshape(3, 3)
K = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
F.conv2d(X_small.reshape(1, 1, 3, 3), K.reshape(1, 1, 2, 2), padding=1, stride=(3, 2))

# %% [markdown]
# Check the four numbers by hand on the padded $5 \times 5$ input: the windows start at rows 0 and 3
# and columns 0 and 2, so the outputs are $0 \cdot 0 + 0 \cdot 1 + 0 \cdot 2 + 0 \cdot 3 = 0$,
# $0 \cdot 0 + 0 \cdot 1 + 1 \cdot 2 + 2 \cdot 3 = 8$, $0 \cdot 0 + 6 \cdot 1 + 0 \cdot 2 + 0
# \cdot 3 = 6$ and $7 \cdot 0 + 8 \cdot 1 + 0 \cdot 2 + 0 \cdot 3 = 8$.
#
# ### How big is the output now?
#
# A window starting at row $t$ fits while $t + k_h \le n_h + 2p_h$. The starts are
# $0, s_h, 2s_h, \dots$, so there are $\lfloor (n_h + 2p_h - k_h) / s_h \rfloor + 1$ of them, and
# the same along the width. The output shape is
#
# $$\left\lfloor \frac{n_h - k_h + 2p_h + s_h}{s_h} \right\rfloor \times
#   \left\lfloor \frac{n_w - k_w + 2p_w + s_w}{s_w} \right\rfloor.$$
#
# It is a **floor**, not a ceiling: a window that would reach beyond the padded input is simply
# not computed, and the last few rows or columns may then never be used. (With the notes'
# convention the numerators read $n_h - k_h + p_h + s_h$, with $p_h$ the total padding.) Two
# special cases from the notes:
#
# 1. With "same" padding, $2p_h = k_h - 1$, the shape simplifies to
#    $\lfloor (n_h + s_h - 1)/s_h \rfloor \times \lfloor (n_w + s_w - 1)/s_w \rfloor$.
# 2. If moreover $s_h$ divides $n_h$ and $s_w$ divides $n_w$, the output is
#    $(n_h / s_h) \times (n_w / s_w)$.
#
# The notes' two examples, on the same $8 \times 8$ input as before. The first halves the height
# and width: $\lfloor (8 - 3 + 2 + 2)/2 \rfloor = 4$.

# %%
conv2d = nn.Conv2d(1, 1, kernel_size=3, padding=1, stride=2)
comp_conv2d(conv2d, X).shape

# %% [markdown]
# The second is deliberately lopsided. Height: $\lfloor (8 - 3 + 0 + 3)/3 \rfloor =
# \lfloor 8/3 \rfloor = 2$. Width: $\lfloor (8 - 5 + 2 + 4)/4 \rfloor = \lfloor 9/4 \rfloor = 2$.

# %%
conv2d = nn.Conv2d(1, 1, kernel_size=(3, 5), padding=(0, 1), stride=(3, 4))
comp_conv2d(conv2d, X).shape

# %% [markdown]
# **Vocabulary.** With $p_h$ rows of padding on both sides of the height and $p_w$ columns on both
# sides of the width we call the padding $(p_h, p_w)$, or just $p$ when $p_h = p_w = p$. Likewise
# the stride is $(s_h, s_w)$, or $s$. By default the padding is 0 and the stride 1. In practice
# the two entries are rarely different: $p_h = p_w$ and $s_h = s_w$ is the norm. PyTorch accepts
# both forms, and so do your functions below: the course's `pair` turns an int `v` into `(v, v)`
# and leaves a pair alone.

# %% [markdown]
# ## 3 · Your turn
#
# ### Exercise 1 · `conv_output_shape` (3 points)
#
# Write `conv_output_shape(input_shape, kernel_size, padding=0, stride=1)`:
#
# - `input_shape` is `(n_h, n_w)`; `kernel_size`, `padding` and `stride` are each an int or an
#   `(h, w)` pair (use `pair`). `padding` is per side, as in PyTorch.
# - Return the output shape of the cross-correlation as a tuple `(o_h, o_w)` of Python ints, with
#   the floor formula above.
# - Use the formula: do not run a convolution to measure the shape.

# %% solution conv_output_shape

# %% tests test_conv_output_shape points=3
import math

import torch
from torch.nn import functional as F
from course import pair
from course.checks import expect_count, expect_no_library


def torch_shape(input_shape, kernel_size, padding=0, stride=1):
    """The (o_h, o_w) that nn.Conv2d gives, computed on the meta device (shapes only)."""
    X = torch.zeros((1, 1) + tuple(input_shape), device="meta")
    K = torch.zeros((1, 1) + pair(kernel_size), device="meta")
    return tuple(F.conv2d(X, K, padding=padding, stride=stride).shape[2:])


def check(input_shape, kernel_size, padding=0, stride=1):
    """Compare conv_output_shape with PyTorch; name the suspected mistake per axis."""
    name = (f"conv_output_shape({input_shape}, {kernel_size}, padding={padding}, "
            f"stride={stride})")
    got = conv_output_shape(input_shape, kernel_size, padding=padding, stride=stride)
    want = torch_shape(input_shape, kernel_size, padding, stride)
    assert isinstance(got, (tuple, list)) and len(got) == 2, (
        f"{name} should be a tuple (o_h, o_w), got {got!r}")
    assert want[0] == want[1] or tuple(got) != want[::-1], (
        f"{name} is {tuple(got)}, expected {want}: height and width swapped?")
    for axis, o, g, n, k, p, s in zip(("o_h", "o_w"), want, got, input_shape, pair(kernel_size),
                                      pair(padding), pair(stride)):
        suspects = [
            ((n - k + p + s) // s, "padding counted once? padding is per side, so 2 * padding "
                                   "rows are added (the notes' p_h is the total)"),
            (math.ceil((n - k + 2 * p + s) / s), "ceil instead of floor? a window that does not "
                                                 "fit is not computed"),
            ((n - k + 2 * p) // s, "off by one? floor((n - k + 2p) / s) counts the steps, the "
                                   "windows are one more (hence + s in the numerator)")]
        expect_count(g, o, f"{axis} of {name}",
                     " Or: ".join(hint for value, hint in suspects if value == g))


check((8, 8), 3, padding=1)
check((8, 8), (5, 3), padding=(2, 1))
check((8, 8), 3, padding=1, stride=2)
check((8, 8), (3, 5), padding=(0, 1), stride=(3, 4))
check((8, 6), 3, padding=1, stride=(1, 2))
expect_no_library(conv_output_shape, (8, 6), 3, name="conv_output_shape")
print("conv_output_shape: the notes' four examples pass")
### BEGIN HIDDEN TESTS
expect_no_library(conv_output_shape, (8, 6), 3, families=("convolution",))
check((8, 8), 3)
check((7, 9), (2, 4))
check((8, 8), 3, stride=2)
check((6, 5), 3, padding=2)
check((9, 9), 3, padding=2, stride=3)
check((7, 9), 3, padding=(1, 0))
check((10, 6), (3, 2), padding=(0, 2), stride=(2, 3))
check((12, 7), (4, 3), padding=(2, 1), stride=(3, 2))
check((5, 11), 5)
check((6, 4), (7, 5), padding=1)
check((1, 1), 1)
check((224, 224), 7, padding=3, stride=2)
check((32, 20), (5, 3), padding=(2, 0), stride=(4, 1))
# The defaults, padding=0 and stride=1, left out of the call.
for args, kwargs, want in [(((8, 8), 3), {}, torch_shape((8, 8), 3)),
                           (((7, 9), (2, 4)), {"padding": 1}, torch_shape((7, 9), (2, 4), 1)),
                           (((9, 6), 3), {"stride": 2}, torch_shape((9, 6), 3, stride=2))]:
    got = conv_output_shape(*args, **kwargs)
    call = ", ".join([repr(a) for a in args] + [f"{k}={v}" for k, v in kwargs.items()])
    assert isinstance(got, (tuple, list)) and tuple(got) == want, (
        f"conv_output_shape({call}) is {got!r}, expected {want}: the defaults are padding=0 "
        "and stride=1")
### END HIDDEN TESTS

# %% [markdown]
# ### Explore: padding and stride
#
# Input size, kernel size, padding (per side) and stride for the height and the width: the padded
# grid shows every window position, the output grid its size, and the formula is filled in with
# your numbers. The `conv_output_shape` you ran last is compared with PyTorch's answer: the
# explorer redraws after any cell that changes it, and its caption names that cell.

# %% widget
from course.explorers import padding_stride_explorer
padding_stride_explorer()

# %% [markdown]
# ### Exercise 2 · `pad2d` (3 points)
#
# Write `pad2d(X, padding)` for `X` of shape `(h, w)`:
#
# - `padding` is an int or a pair `(p_h, p_w)`: `p_h` rows of zeros on top **and** at the bottom,
#   `p_w` columns on the left **and** on the right. The result has shape `(h + 2p_h, w + 2p_w)`
#   with `X` in the middle.
# - Do not call `F.pad` or `nn.ZeroPad2d`. Build the result yourself (`torch.zeros` plus slice
#   assignment, or `torch.cat`), keep it differentiable with respect to `X`, and leave `X`
#   unchanged.
# - Careful with `padding=0`: `Y[p:-p]` is empty when `p` is 0.

# %% solution pad2d

# %% tests test_pad2d points=3
import torch
from torch.nn import functional as F
from course.checks import expect_close, expect_gradient, expect_no_library, expect_unchanged

X = torch.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]])
print(pad2d(X, 1))
expect_close(expect_unchanged(pad2d, X, 1, name="pad2d"), F.pad(X, (1, 1, 1, 1)), "pad2d(X, 1)",
             "one row of zeros on top and bottom, one column on the left and right",
             mistakes={"padding on one side only? padding=1 adds a row on top and one at the "
                       "bottom, a column on the left and one on the right": F.pad(X, (1, 0, 1, 0)),
                       "padding split in half (the notes' p_h is the total)? padding is per "
                       "side, as in PyTorch": X})
expect_close(pad2d(X, (2, 0)), F.pad(X, (0, 0, 2, 2)), "pad2d(X, (2, 0))",
             "padding=(p_h, p_w) adds p_h rows on top and bottom and p_w columns on each side",
             mistakes={"(p_h, p_w) swapped? padding=(2, 0) adds rows, not columns":
                       F.pad(X, (2, 2, 0, 0))})
expect_gradient(pad2d, X, 1, name="pad2d")
expect_no_library(pad2d, X, 1, name="pad2d")
print("pad2d: the visible checks pass")
### BEGIN HIDDEN TESTS
g = torch.Generator().manual_seed(0)
X = torch.randn(4, 5, generator=g) + 3.0  # no zeros inside, so misplaced zeros show
expect_no_library(pad2d, X, 2, families=("padding",))
expect_unchanged(pad2d, X, (1, 2))
expect_gradient(pad2d, X, (2, 1))
for image, padding, hint in [
        (X, 2, "padding=2 adds 2 rows on top AND 2 at the bottom (not on one side only, not "
               "split in half)"),
        (X, (1, 3), "(p_h, p_w) swapped? p_h rows go on top and bottom, p_w columns left and "
                    "right"),
        (X, (0, 2), "padding 0 on one axis keeps it as it is (Y[p:-p] is empty when p is 0)"),
        (X, (3, 0), "padding 0 on one axis keeps it as it is (Y[p:-p] is empty when p is 0)"),
        (X, 0, "no padding returns the input's values"),
        (X.double(), (2, 1), "a float64 X (a float32 result is fine)"),
        (torch.randn(1, 6, generator=g), (2, 1), "a single row")]:
    p_h, p_w = (padding, padding) if isinstance(padding, int) else padding
    h, w = image.shape
    expect_close(pad2d(image, padding), F.pad(image, (p_w, p_w, p_h, p_h)),
                 f"pad2d(X, {padding}) for a {h} x {w} X", hint)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 3 · `corr2d_pad_stride` (4 points)
#
# Now put padding and stride together. Write `corr2d_pad_stride(X, K, padding=0, stride=1)` for
# `X` of shape `(n_h, n_w)` and a kernel `K` of shape `(k_h, k_w)`:
#
# - The result equals `nn.Conv2d(1, 1, K.shape, padding=padding, stride=stride, bias=False)` with
#   weight `K`: zero padding per side, then a cross-correlation (the kernel is *not* flipped)
#   whose window starts every `s_h` rows and every `s_w` columns.
# - `padding` and `stride` are each an int or a pair `(h, w)`. The output shape is the one
#   `conv_output_shape` computes.
# - You may use your `pad2d`. Do not call `F.conv2d` or `nn.Conv2d`; loops, slicing, `unfold` and
#   `einsum` are fine. Keep the result differentiable, and leave `X` and `K` unchanged.

# %% solution corr2d_pad_stride

# %% tests test_corr2d_pad_stride points=4
import torch
from torch.nn import functional as F
from course import pair
from course.checks import expect_close, expect_gradient, expect_no_library, expect_unchanged


def reference(X, K, padding=0, stride=1):
    """PyTorch's cross-correlation of X (h, w) with K, with padding per side and stride."""
    return F.conv2d(X.double()[None, None], K.double()[None, None], padding=padding,
                    stride=stride)[0, 0]


X = torch.arange(9.0).reshape(3, 3)
K = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
print(corr2d_pad_stride(X, K, padding=1, stride=(3, 2)))
expect_close(corr2d_pad_stride(X, K), torch.tensor([[19.0, 25.0], [37.0, 43.0]]),
             "corr2d_pad_stride(X, K)", "with padding 0 and stride 1 this is chapter 2's corr2d",
             mistakes={"kernel flipped? cross-correlation uses K as it is":
                       [[5.0, 11.0], [23.0, 29.0]]})
expect_close(corr2d_pad_stride(X, K, padding=1), reference(X, K, padding=1),
             "corr2d_pad_stride(X, K, padding=1)", "pad one row/column of zeros on every side")
expect_close(corr2d_pad_stride(X, K, padding=1, stride=(3, 2)),
             torch.tensor([[0.0, 8.0], [6.0, 8.0]]), "corr2d_pad_stride(X, K, padding=1, "
             "stride=(3, 2))", "the windows start at rows 0, 3 and columns 0, 2 of the padded X",
             mistakes={"stride (s_h, s_w) swapped? stride=(3, 2) steps 3 rows down and 2 columns "
                       "right": [[0.0, 4.0], [21.0, 16.0]],
                       "padding on one side only? padding=1 adds a row on top and one at the "
                       "bottom": [[0.0, 8.0]],
                       "ceil instead of floor? a window that hangs over the padded edge is not "
                       "computed": [[0.0, 8.0, 0.0], [6.0, 8.0, 0.0]],
                       "stride applied to the rows only? s_w steps the columns":
                       [[0.0, 3.0, 8.0, 4.0], [6.0, 7.0, 8.0, 0.0]]})
# The notes' four layers, on a random 8 x 8 input with kernels of the notes' shapes
g = torch.Generator().manual_seed(0)
X = torch.rand(8, 8, generator=g)
for kernel_size, padding, stride in [(3, 1, 1), ((5, 3), (2, 1), 1), (3, 1, 2),
                                     ((3, 5), (0, 1), (3, 4))]:
    K = torch.randn(pair(kernel_size), generator=g)
    expect_close(corr2d_pad_stride(X, K, padding=padding, stride=stride),
                 reference(X, K, padding, stride), f"corr2d_pad_stride(X, K, padding={padding}, "
                 f"stride={stride}) for an 8 x 8 X and a {tuple(K.shape)} K")
expect_no_library(corr2d_pad_stride, X, K, 1, 2, name="corr2d_pad_stride")
print("corr2d_pad_stride: the visible checks pass")
### BEGIN HIDDEN TESTS
g = torch.Generator().manual_seed(1)
X, K = torch.randn(7, 9, generator=g), torch.randn(2, 3, generator=g)
expect_no_library(corr2d_pad_stride, X, K, 1, 2, families=("convolution",))
expect_unchanged(corr2d_pad_stride, X, K, (1, 2), (2, 1))
expect_gradient(corr2d_pad_stride, X, K, 1, (2, 3))
for image, kernel, padding, stride, hint in [
        (X, K, 0, 1, "kernel flipped? a cross-correlation uses K as it is"),
        (X, K, (1, 0), 1, "padding on one side only, or (p_h, p_w) swapped? p_h rows go on top "
                          "and bottom, p_w columns left and right"),
        (X, K, (0, 2), 1, "padding on one side only, or (p_h, p_w) swapped?"),
        (X, K, 0, (2, 3), "stride (s_h, s_w) swapped, or used on one axis only? s_h steps down "
                          "the rows, s_w across the columns; ceil instead of floor? a window "
                          "that does not fit is skipped"),
        (X, K, 0, (1, 2), "stride applied to one axis only, or (s_h, s_w) swapped?"),
        (X, K, (2, 1), (3, 2), "padding and stride together: pad first, then step"),
        (X, K, 1, 4, "a stride larger than the kernel skips input cells; the output has "
                     "floor((n - k + 2p + s) / s) cells per axis"),
        (X, torch.randn(7, 9, generator=g), 0, 1, "a kernel as large as X gives a 1 x 1 output"),
        (X, torch.randn(5, 7, generator=g), (1, 2), (3, 2), "a large kernel with padding and "
                                                            "stride"),
        (X.double(), K.double(), 1, 2, "float64 X and K (a float32 result is fine)")]:
    name = (f"corr2d_pad_stride(X, K, padding={padding}, stride={stride}) for a "
            f"{tuple(image.shape)} X and a {tuple(kernel.shape)} K")
    expected = reference(image, kernel, padding, stride)
    expect_close(corr2d_pad_stride(image, kernel, padding=padding, stride=stride), expected,
                 name, hint)
# The gradient with respect to X for every form of padding and stride: 0, an int, (h, w)
# pairs with a 0 (a backward pass that slices the padding off must work for a padding of 0).
for padding, stride in [(0, 1), (0, 3), ((0, 2), 1), ((1, 0), (2, 1)), (2, (1, 2)),
                        ((0, 0), (3, 2)), (1, 2)]:
    expect_close(expect_gradient(corr2d_pad_stride, X, K, padding, stride),
                 expect_gradient(reference, X, K, padding, stride),
                 f"the gradient of corr2d_pad_stride(X, K, {padding}, {stride}) with respect to X",
                 "every input cell gets the kernel weights of the windows it is in; the padding "
                 "gets no gradient")
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 4 · `same_padding` (3 points)
#
# Back to the padding that keeps the size. Write `same_padding(kernel_size)` for one axis:
#
# - `kernel_size` is an int $k \ge 1$. Return the per-side padding `(before, after)` as a tuple of
#   two ints with `before + after == kernel_size - 1`, so that at stride 1 the axis keeps its size.
# - For an even kernel the extra row goes **before** (on top, or on the left), as in the notes:
#   `before` $= \lceil (k-1)/2 \rceil$, `after` $= \lfloor (k-1)/2 \rfloor$. (PyTorch's
#   `padding='same'` does the opposite.)

# %% solution same_padding

# %% tests test_same_padding points=3
import math

import torch
from torch.nn import functional as F
from course.checks import expect_count


def padded_length(n, kernel_size, before, after):
    """The output length of a stride-1 correlation after padding a length-n row (PyTorch)."""
    row = torch.zeros(1, 1, n)
    return F.conv1d(F.pad(row, (before, after)), torch.zeros(1, 1, kernel_size)).shape[-1]


def check(kernel_size):
    """Compare same_padding(kernel_size) with the notes' rule; name the suspected mistake."""
    name = f"same_padding({kernel_size})"
    got = same_padding(kernel_size)
    assert isinstance(got, (tuple, list)) and len(got) == 2, (
        f"{name} should be a tuple (before, after), got {got!r}")
    before, after = got
    want = (math.ceil((kernel_size - 1) / 2), (kernel_size - 1) // 2)
    expect_count(before + after, kernel_size - 1, f"before + after for {name}",
                 "the total padding is kernel_size - 1 (k // 2 on both sides grows an even "
                 "kernel's output, (k - 1) // 2 on both sides shrinks it)")
    expect_count(before, want[0], f"before of {name}",
                 "for an even kernel the extra row goes before (top/left): ceil((k - 1) / 2)")
    expect_count(after, want[1], f"after of {name}")
    assert padded_length(10, kernel_size, int(before), int(after)) == 10, (
        f"{name} = {tuple(got)} does not keep a length-10 axis at length 10")


check(3)
check(4)
print("same_padding:", same_padding(3), same_padding(4))
### BEGIN HIDDEN TESTS
for kernel_size in (1, 2, 5, 6, 7, 8, 11, 12):
    check(kernel_size)
### END HIDDEN TESTS

# %% [markdown]
# ### Exercise 5 · `mirror_pad2d` (3 points)
#
# Zeros are not the only way to pad, and not always the best. Zero padding surrounds the image with
# a black frame, and a kernel cannot tell that frame from real content. Watch the vertical edge
# detector of chapter 2 on an image that is dark on the left and bright on the right, padded by
# one column on each side:

# %%
X = torch.ones(4, 5)
X[:, :2] = 0.2
K = torch.tensor([[1.0, -1.0]])
edges_zero = F.conv2d(F.pad(X, (1, 1, 0, 0))[None, None], K[None, None])[0, 0]
edges_mirror = F.conv2d(F.pad(X[None], (1, 1, 0, 0), mode="reflect")[None], K[None, None])[0, 0]
print("zero padding:")
print(edges_zero)
print("reflection padding:")
print(edges_mirror)

# %% [markdown]
# With zeros, the detector fires at both borders (the $-0.2$ and $1$), where the image has no edge
# at all; only the $-0.8$ column is the true edge. **Reflection padding** continues the image as
# if a mirror stood on its outermost pixels, so the border looks like more of the same and the
# false edges vanish. In one dimension, padding $(1, 2, 3, 4)$ by 2 on each side gives
#
# $$(3, 2 \mid 1, 2, 3, 4 \mid 3, 2):$$
#
# the edge value itself is the mirror's axis and is *not* repeated. (Repeating it,
# $(2, 1 \mid 1, 2, 3, 4 \mid 4, 3)$, is a different mode called symmetric padding.)
#
# Write `mirror_pad2d(X, padding)` for `X` of shape `(h, w)`:
#
# - `padding` is an int or a pair `(p_h, p_w)`, per side as before; the result has shape
#   `(h + 2p_h, w + 2p_w)` and equals PyTorch's `mode="reflect"` padding. Reflect the rows first
#   and then the columns of the result (or the other way round): the corners then come out right.
# - You may assume `p_h < h` and `p_w < w`, so that every reflection stays inside the image.
# - Do not call `F.pad` or `nn.ReflectionPad2d`; `torch.flip`, slicing, `torch.cat` and index
#   tensors are fine. Keep the result differentiable and leave `X` unchanged.

# %% solution mirror_pad2d

# %% tests test_mirror_pad2d points=3
import torch
from torch.nn import functional as F
from course.checks import expect_close, expect_gradient, expect_no_library, expect_unchanged


def reflected(X, padding):
    """PyTorch's reflection padding of X (h, w), `padding` per side."""
    p_h, p_w = (padding, padding) if isinstance(padding, int) else padding
    return F.pad(X[None], (p_w, p_w, p_h, p_h), mode="reflect")[0]


X = torch.arange(1.0, 13.0).reshape(3, 4)
print(mirror_pad2d(X, 1))
expect_close(mirror_pad2d(X, 1), reflected(X, 1), "mirror_pad2d(X, 1)",
             "the edge row/column is the mirror's axis: the first new row is X[1], not X[0]",
             mistakes={"edge replicated? reflection mirrors about the edge row, so the first "
                       "new row is X[1]": F.pad(X[None], (1, 1, 1, 1), mode="replicate")[0]})
expect_close(mirror_pad2d(X, (0, 2)), reflected(X, (0, 2)), "mirror_pad2d(X, (0, 2))",
             "each row (3, 2 | 1, 2, 3, 4 | 3, 2): two columns on each side")
expect_no_library(mirror_pad2d, X, 1, name="mirror_pad2d")
print("mirror_pad2d: the visible checks pass")
### BEGIN HIDDEN TESTS
g = torch.Generator().manual_seed(0)
X = torch.randn(5, 6, generator=g)
expect_no_library(mirror_pad2d, X, 2, families=("padding",))
expect_unchanged(mirror_pad2d, X, (2, 3))
expect_gradient(mirror_pad2d, X, (1, 2))
for image, padding, hint in [
        (X, 1, "the edge row/column is not repeated: the first new row is X[1], not X[0] "
               "(that would be symmetric or replicate padding)"),
        (X, 2, "reflected rows come in mirror order: the two rows above X[0] are X[2], X[1] "
               "(top to bottom), not X[1], X[2]"),
        (X, (1, 3), "(p_h, p_w) swapped? p_h rows on top and bottom, p_w columns left and right"),
        (X, (3, 0), "padding 0 on one axis keeps it as it is"),
        (X, (0, 2), "padding 0 on one axis keeps it as it is"),
        (X, (2, 2), "the corners: reflect the rows, then reflect the columns of that result"),
        (X, (4, 5), "the largest padding allowed, p_h = h - 1 and p_w = w - 1"),
        (X.double(), (2, 1), "a float64 X (a float32 result is fine)"),
        (torch.randn(2, 7, generator=g), (1, 3), "a 2 x 7 X")]:
    h, w = image.shape
    expect_close(mirror_pad2d(image, padding), reflected(image, padding),
                 f"mirror_pad2d(X, {padding}) for a {h} x {w} X", hint)
### END HIDDEN TESTS

# %% [markdown]
# ## 4 · Questions
#
# **Question 1 (2 points).** Why would a network use a stride larger than 1? Say what it gains and
# what it gives up.

# %% [markdown] answer q_stride points=2
# A stride $s$ computes only every $s$-th window along each axis, so the output has about
# $1/s_h \times 1/s_w$ as many cells. That cuts the computation and memory of this layer and of
# every layer after it by the same factor, and it shrinks high-resolution inputs quickly. It also
# makes the receptive field of later layers grow faster, so deep units see large parts of the
# image after fewer layers. The price is information: windows in between are never evaluated, so
# fine detail can be lost or aliased (a thin line may fall between two windows), and the output is
# equivariant only to shifts by multiples of the stride: move the input by one pixel and the
# strided output can change in more than position. When $(n + 2p - k)$ is not a multiple of $s$
# the last rows or columns may not be used at all.

# %% [markdown]
# **Question 2 (2 points).** The output size uses a floor, not a ceiling. Take $n = 8$, $k = 3$,
# no padding and stride $s = 2$: which input rows does the layer never look at, and how could you
# change the padding so that every row is used?

# %% [markdown] answer q_floor points=2
# The windows start at rows 0, 2, 4 (the next start, 6, would need rows 6 to 8, but row 8 does not
# exist), so the output has $\lfloor (8 - 3 + 2)/2 \rfloor = 3$ rows covering rows 0 to 6: row 7
# is never used. The floor expresses that a window must fit entirely inside the padded input; a
# ceiling would count a window that hangs over the edge. To use every row, pad so that
# $n + 2p - k$ is a multiple of $s$ and the last window ends on the last row: here one extra row of
# zeros at the bottom ($n = 9$) gives starts 0, 2, 4, 6 and four outputs; with PyTorch's
# symmetric padding, $p = 1$ gives $\lfloor (8 - 3 + 2 + 2)/2 \rfloor = 4$ windows over the
# padded rows $-1$ to $8$, which include row 7. (Pooling layers offer `ceil_mode=True` for the same
# purpose.)

# %% [markdown]
# ## Summary
#
# - **Padding** adds rows and columns (usually zeros) around the input, so the output can keep the
#   input's height and width and border pixels count as much as central ones. With padding $p$ per
#   side the output is $(n_h - k_h + 2p_h + 1) \times (n_w - k_w + 2p_w + 1)$; the notes' $p_h$ is
#   the total, $2p_h$ here.
# - Same padding needs a total of $k - 1$: $(k - 1)/2$ per side for odd kernels, which is why
#   kernels are usually odd; for even kernels the notes put the extra row on top.
# - **Stride** moves the window $s$ cells at a time and divides the output's height and width by
#   about $s$: $\lfloor (n - k + 2p + s)/s \rfloor$ per axis, a floor because windows must fit.
# - Padding and stride together control the output's shape; reflection padding avoids the false
#   edges that zero padding draws around the image.
