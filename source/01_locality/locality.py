# %% [markdown]
# # 01 · From fully-connected layers to convolutions
#
# You already know multilayer perceptrons: flatten the input into a vector, multiply by a big
# matrix, add a bias, apply a nonlinearity. Nothing stops you from feeding an image to one. This
# chapter asks why that is a poor idea, and how two simple facts about images turn a dense layer
# into a **convolutional layer**, the building block of every CNN.
#
# You will count parameters (and watch a trillion shrink to a few hundred), make translations
# concrete with a `shift2d` function, and write your first convolution-like operation in one
# dimension.
#
# | graded function | points |
# | --- | --- |
# | `fc_param_count` | 2 |
# | `locally_connected_param_count` | 3 |
# | `conv_param_count` | 3 |
# | `shift2d` | 4 |
# | `corr1d` | 4 |
# | two written questions | 2 + 2 |
#
# **How this notebook works.** Each exercise states a function to write. Replace
# `raise NotImplementedError()` with your code, then run the test cell below it. The visible checks
# are a sample; hidden tests with other inputs decide the grade, so try your function on inputs of
# your own too. Two rules hold everywhere: never modify the tensors you are given, and compute the
# answer yourself instead of calling the library routine that *is* the answer.

# %%
import math

import torch
from torch import nn
from torch.nn import functional as F

# %% [markdown]
# ## 1 · A dense layer on an image
#
# Take a grayscale image $\mathbf X$ with $n_h \times n_w$ pixels and a hidden representation
# $\mathbf H$ with $m_h \times m_w$ units. Keeping the two-dimensional indices, a fully-connected
# layer gives every hidden unit its own weight for every pixel, plus its own bias:
#
# $$[\mathbf H]_{i,j} = [\mathbf U]_{i,j} + \sum_k \sum_l [\mathsf W]_{i,j,k,l}\, [\mathbf X]_{k,l}.$$
#
# The weight tensor $\mathsf W$ has four indices, so it has $n_h n_w \cdot m_h m_w$ entries; the
# bias $\mathbf U$ has one entry per hidden unit, $m_h m_w$. For a modest one-megapixel photo
# ($1000 \times 1000$) and a hidden map of the same size that is $10^{12}$ weights: four terabytes
# in float32, for a single layer. PyTorch can count them without allocating anything if we build
# the layer on the `meta` device, which records shapes only:

# %%
dense = nn.Linear(1000 * 1000, 1000 * 1000, device="meta")
print(f"{sum(p.numel() for p in dense.parameters()):,} parameters")

# %% [markdown]
# The size is only half of the problem. A dense layer treats the pixels as an unordered list:
# shuffle them with any fixed permutation and the layer can learn exactly as well. Everything we
# know about images (that nearby pixels belong together, that a cat is a cat wherever it sits)
# has to be learned from data, at great cost.
#
# ### Exercise 1 · `fc_param_count` (2 points)
#
# Write `fc_param_count(n_h, n_w, m_h, m_w, bias=True)`: the number of learnable parameters of a
# dense layer from an `n_h x n_w` image to an `m_h x m_w` hidden representation.
#
# - Every hidden unit has one weight per pixel.
# - With `bias=True` every hidden unit also has one bias; with `bias=False` there are no biases.
# - Return a Python `int`. For example `fc_param_count(2, 3, 4, 5)` is `140`.

# %% solution fc_param_count

# %% tests test_fc_param_count points=2
from torch import nn
from course.checks import expect_count


def dense_count(n_h, n_w, m_h, m_w, bias=True):
    """PyTorch's parameter count for the same dense layer (meta device: nothing allocated)."""
    layer = nn.Linear(n_h * n_w, m_h * m_w, bias=bias, device="meta")
    return sum(p.numel() for p in layer.parameters())


expect_count(fc_param_count(2, 3, 4, 5), 140, "fc_param_count(2, 3, 4, 5)",
             "6 pixels x 20 hidden units = 120 weights, plus 20 biases",
             mistakes={"biases forgotten? one per hidden unit": 120,
                       "one bias per input pixel? the biases belong to the 20 hidden units": 126})
expect_count(fc_param_count(2, 3, 4, 5, bias=False), 120, "fc_param_count(2, 3, 4, 5, bias=False)",
             mistakes={"bias=False ignored? then there are no biases": 140})
expect_count(fc_param_count(1000, 1000, 1000, 1000), 10**12 + 10**6,
             "fc_param_count(1000, 1000, 1000, 1000)")
print("fc_param_count: the visible checks pass")
### BEGIN HIDDEN TESTS
for n_h, n_w, m_h, m_w in [(1, 1, 1, 1), (3, 5, 2, 7), (28, 28, 10, 1), (7, 2, 2, 7),
                           (1000, 1000, 1000, 1000)]:
    for bias in (True, False):
        pixels, units = n_h * n_w, m_h * m_w
        suspects = {pixels * units: "forgot the biases? there is one per hidden unit",
                    pixels * units + pixels: "one bias per pixel? there is one per hidden unit",
                    pixels * units + 1: "a single bias? there is one per hidden unit"}
        if not bias:
            suspects = {pixels * units + units: "bias=False means no biases at all"}
        got = fc_param_count(n_h, n_w, m_h, m_w, bias=bias)
        expect_count(got, dense_count(n_h, n_w, m_h, m_w, bias),
                     f"fc_param_count({n_h}, {n_w}, {m_h}, {m_w}, bias={bias})",
                     suspects.get(got, ""))
### END HIDDEN TESTS

# %% [markdown]
# ## 2 · Two principles
#
# Suppose you are looking for Waldo in a crowded picture. Two facts make the search feasible, and
# they are the two principles behind convolutional networks:
#
# 1. **Translation invariance.** (The notes call it "transition" invariance; a *translation* is a
#    shift.) Waldo looks the same wherever he stands, so the early layers of a network should
#    respond to a patch of pixels in the same way wherever the patch is in the image.
# 2. **Locality.** To decide whether a spot shows Waldo you look at that spot and its
#    surroundings, not at pixels on the other side of the image. Early layers should combine only
#    small neighbourhoods; later layers combine their results into the big picture.
#
# To use them, write the sum over all pixels $(k, l)$ as a sum over *offsets* $(a, b)$ from the
# hidden unit's own position, with $k = i + a$ and $l = j + b$:
#
# $$[\mathbf H]_{i,j} = [\mathbf U]_{i,j} + \sum_a \sum_b [\mathsf V]_{i,j,a,b}\, [\mathbf X]_{i+a,j+b}.$$
#
# Nothing has changed yet: $[\mathsf V]_{i,j,a,b} = [\mathsf W]_{i,j,i+a,j+b}$ is the same set of
# weights, renamed. Each principle now becomes a restriction on $\mathsf V$ and $\mathbf U$. The two
# restrictions are independent, so we can apply them in either order; we start with locality.
#
# ### Locality
#
# Locality says a hidden unit ignores pixels further than $\Delta$ rows or columns away:
# $[\mathsf V]_{i,j,a,b} = 0$ whenever $|a| > \Delta$ or $|b| > \Delta$, so
#
# $$[\mathbf H]_{i,j} = [\mathbf U]_{i,j} + \sum_{a=-\Delta}^{\Delta} \sum_{b=-\Delta}^{\Delta}
#   [\mathsf V]_{i,j,a,b}\, [\mathbf X]_{i+a,j+b}.$$
#
# How many weights does one hidden unit keep? The offset $a$ runs over $-\Delta, \dots, 0, \dots,
# \Delta$: that is $2\Delta + 1$ values, and the same for $b$, so the window holds
# $(2\Delta+1)^2$ pixels. (You may meet the count $4\Delta^2$ in the notes and elsewhere: it is
# $(2\Delta)^2$ and forgets the centre row and column. For $\Delta = 1$ the window is the familiar
# $3 \times 3 = 9$ pixels, not 4.)
#
# A layer with locality but nothing else is called a **locally connected layer**. Its output has
# the same size as its input, $n_h \times n_w$, and every output pixel has its *own*
# $(2\Delta+1)^2$ weights and its own bias. Near the border part of the window hangs over the edge
# of the image; those weights exist all the same (they meet zeros, a topic of chapter 3).
#
# ### Explore: what locality saves
#
# Move the sliders: the image size and the window half-width $\Delta$. The bars compare the
# parameters of a dense layer, a locally connected layer and a convolution (note the log scale);
# the picture shows the $(2\Delta+1) \times (2\Delta+1)$ window one hidden unit sees.

# %% widget
from course.explorers import locality_explorer
locality_explorer()

# %% [markdown]
# ### Exercise 2 · `locally_connected_param_count` (3 points)
#
# Write `locally_connected_param_count(n_h, n_w, delta, bias=True)`: the number of parameters of a
# locally connected layer on an `n_h x n_w` image whose windows reach `delta` pixels in every
# direction.
#
# - The output is `n_h x n_w`; each output pixel has its own full `(2*delta+1) x (2*delta+1)`
#   window of weights, with no sharing between pixels.
# - With `bias=True` each output pixel has one bias; with `bias=False` there are none.
# - Return a Python `int`.

# %% solution locally_connected_param_count

# %% tests test_locally_connected_param_count points=3
import torch
from torch.nn import functional as F
from course.checks import expect_count


def unfolded_count(n_h, n_w, delta, bias=True):
    """A locally connected layer has one weight per entry of the unfolded image: a window of
    (2*delta+1)**2 values for each of the n_h * n_w output pixels (meta device: no memory)."""
    X = torch.zeros(1, 1, n_h, n_w, device="meta")
    windows = F.unfold(X, kernel_size=2 * delta + 1, padding=delta)
    return windows.numel() + (n_h * n_w if bias else 0)


expect_count(locally_connected_param_count(4, 6, 1), 240, "locally_connected_param_count(4, 6, 1)",
             "24 output pixels, each with a 3 x 3 window and a bias",
             mistakes={
                 "a window of 4 * delta**2 values (the notes' erratum)? it is (2*delta+1)**2": 120,
                 "weights shared between pixels? that is a convolution: here every output "
                 "pixel has its own 3 x 3 weights": 33,
                 "a one-dimensional window? it is (2*delta+1) x (2*delta+1)": 96,
                 "a single bias? one bias per output pixel": 217})
expect_count(locally_connected_param_count(4, 6, 1, bias=False), 216,
             "locally_connected_param_count(4, 6, 1, bias=False)",
             mistakes={"bias=False ignored? then there are no biases": 240})
expect_count(locally_connected_param_count(1000, 1000, 10), unfolded_count(1000, 1000, 10),
             "locally_connected_param_count(1000, 1000, 10)")
print("locally_connected_param_count: the visible checks pass")
### BEGIN HIDDEN TESTS
for n_h, n_w, delta in [(6, 4, 1), (3, 7, 2), (5, 3, 0), (1, 1, 1), (28, 28, 3), (1000, 1000, 10)]:
    for bias in (True, False):
        pixels, window = n_h * n_w, (2 * delta + 1) ** 2
        biases = pixels if bias else 0
        suspects = {
            pixels * 4 * delta ** 2 + biases:
                "the window has (2*delta+1)**2 pixels (a runs from -delta to delta), "
                "not 4*delta**2",
            pixels * (2 * delta + 1) + biases:
                "the window is two-dimensional: (2*delta+1)**2 weights, not 2*delta+1",
            window + biases: "shared one window between all pixels? in a locally connected "
                             "layer every output pixel has its own weights",
            window + (1 if bias else 0): "shared the weights and the bias between all pixels? "
                                         "nothing is shared in a locally connected layer",
            pixels * window + pixels - biases:
                "one bias per output pixel with bias=True, none with bias=False",
            pixels * window + 1: "a single bias? there is one per output pixel"}
        got = locally_connected_param_count(n_h, n_w, delta, bias=bias)
        expect_count(got, unfolded_count(n_h, n_w, delta, bias),
                     f"locally_connected_param_count({n_h}, {n_w}, {delta}, bias={bias})",
                     suspects.get(got, ""))
### END HIDDEN TESTS

# %% [markdown]
# Locality took us from $10^{12}$ to about $n_h n_w (2\Delta+1)^2$ weights: for a megapixel image
# and $\Delta = 10$, some $4.4 \times 10^8$. Better, but the count still grows with the image.
#
# ### Translation invariance
#
# Translation invariance asks more: a patch should be treated the same way wherever it appears.
# Then the weights and the bias must not depend on the position $(i, j)$ at all:
# $[\mathsf V]_{i,j,a,b} = [\mathbf V]_{a,b}$ and $[\mathbf U]_{i,j} = u$. The layer becomes
#
# $$[\mathbf H]_{i,j} = u + \sum_{a=-\Delta}^{\Delta} \sum_{b=-\Delta}^{\Delta}
#   [\mathbf V]_{a,b}\, [\mathbf X]_{i+a,j+b}.$$
#
# This is a **convolutional layer**. (Strictly speaking the formula is a *cross-correlation*;
# chapter 2 explains the difference and why nobody minds.) The small matrix $\mathbf V$ is the
# **kernel** or **filter**, and every hidden unit uses the same one. The layer has
# $(2\Delta+1)^2 + 1$ parameters, no matter how large the image is: 442 for $\Delta = 10$.
#
# ### Channels
#
# Real images have three colour channels, and one feature map is rarely enough: a hidden layer
# wants one map for vertical edges, one for a colour blob, one for a texture, and so on. So the
# input is a tensor $\mathsf X$ with $c_\text{in}$ channels and the output a tensor $\mathsf H$
# with $c_\text{out}$ channels. Every output channel $d$ looks at every input channel $c$ through
# its own window, and has one bias:
#
# $$[\mathsf H]_{i,j,d} = u_d + \sum_{a=-\Delta}^{\Delta} \sum_{b=-\Delta}^{\Delta} \sum_c
#   [\mathsf V]_{a,b,c,d}\, [\mathsf X]_{i+a,j+b,c}.$$
#
# PyTorch stores the same kernel with the output channel first, as a
# $c_\text{out} \times c_\text{in} \times k_h \times k_w$ tensor:

# %%
conv = nn.Conv2d(in_channels=3, out_channels=64, kernel_size=3)  # delta = 1: a 3 x 3 window
print("weight:", conv.weight.shape)
print("bias:  ", conv.bias.shape)

# %% [markdown]
# ### Exercise 3 · `conv_param_count` (3 points)
#
# Write `conv_param_count(delta, c_in=1, c_out=1, bias=True)`: the number of parameters of a
# convolutional layer with windows reaching `delta` pixels in every direction, from `c_in` input
# channels to `c_out` output channels.
#
# - One `(2*delta+1) x (2*delta+1)` window for every pair of an input and an output channel.
# - With `bias=True` one bias per **output** channel; with `bias=False` none.
# - The image size does not appear: that is the point. Return a Python `int`.

# %% solution conv_param_count

# %% tests test_conv_param_count points=3
from torch import nn
from course.checks import expect_count


def conv_layer_count(delta, c_in=1, c_out=1, bias=True):
    """PyTorch's parameter count for the same convolutional layer (meta device)."""
    layer = nn.Conv2d(c_in, c_out, kernel_size=2 * delta + 1, bias=bias, device="meta")
    return sum(p.numel() for p in layer.parameters())


expect_count(conv_param_count(1), 10, "conv_param_count(1)", "a 3 x 3 window and one bias",
             mistakes={"a window of 4 * delta**2 values (the notes' erratum)? "
                       "it is (2*delta+1)**2": 5})
expect_count(conv_param_count(10), 442, "conv_param_count(10)", "a 21 x 21 window and one bias")
expect_count(conv_param_count(1, c_in=3, c_out=64), conv_layer_count(1, 3, 64),
             "conv_param_count(1, c_in=3, c_out=64)",
             "3 x 64 channel pairs with a 3 x 3 window each, plus 64 biases",
             mistakes={"input channels forgotten? each output channel has a window per input "
                       "channel": 640,
                       "one bias per input channel? one per output channel": 1731,
                       "one bias per channel pair? one per output channel": 1920})
print("conv_param_count: the visible checks pass")
### BEGIN HIDDEN TESTS
for delta, c_in, c_out in [(1, 3, 5), (0, 3, 5), (2, 4, 1), (1, 1, 8), (3, 16, 32), (0, 1, 1)]:
    for bias in (True, False):
        window = (2 * delta + 1) ** 2
        biases = c_out if bias else 0
        suspects = {
            c_out * window + biases: "forgot the input channels? every (input, output) channel "
                                     "pair has its own window",
            c_in * window + biases: "forgot the output channels? every (input, output) channel "
                                    "pair has its own window",
            c_in * c_out * window + c_in: "one bias per input channel? there is one per output "
                                          "channel",
            c_in * c_out * (window + 1): "one bias per channel pair? there is one per output "
                                         "channel",
            c_in * c_out * 4 * delta ** 2 + biases:
                "the window has (2*delta+1)**2 pixels (a runs from -delta to delta), "
                "not 4*delta**2",
            c_in * c_out * window + c_out - biases:
                "one bias per output channel with bias=True, none with bias=False"}
        got = conv_param_count(delta, c_in=c_in, c_out=c_out, bias=bias)
        expect_count(got, conv_layer_count(delta, c_in, c_out, bias),
                     f"conv_param_count({delta}, c_in={c_in}, c_out={c_out}, bias={bias})",
                     suspects.get(got, ""))
expect_count(conv_param_count(2), 26, "conv_param_count(2)",
             "the defaults are c_in=1, c_out=1, bias=True")
expect_count(conv_param_count(1, 3), conv_layer_count(1, 3), "conv_param_count(1, 3)",
             "the second argument is c_in")
### END HIDDEN TESTS

# %% [markdown]
# Here is the whole journey for a $1000 \times 1000$ grayscale image, a same-size hidden map and
# $\Delta = 10$, biases included:
#
# | layer | parameters |
# | --- | ---: |
# | fully connected | 1 000 001 000 000 |
# | locally connected (locality) | 442 000 000 |
# | convolutional (locality + translation invariance) | 442 |
#
# Both principles are *assumptions*. When they hold, as they do for the early layers of a vision
# model, we lose nothing and a network with a few hundred parameters per layer can learn from far
# less data. When they do not hold, they get in the way (a question at the end asks when).

# %% [markdown]
# ## 3 · Translations, made visible
#
# What does translation invariance promise, exactly? Shift the input image, and the convolutional
# layer's output shifts along with it: the same features, found in new places. (Mathematicians call
# this *equivariance*: the layer commutes with shifts. Invariance, an output that does not change
# at all, comes later, when pooling and the final layers throw the positions away.)
#
# We can check the promise on the torus, where `torch.roll` shifts an image and whatever leaves on
# one side re-enters on the other. A convolution with *circular* padding commutes with rolling
# exactly; a dense layer has no reason to:

# %%
torch.manual_seed(0)
X = torch.randn(1, 1, 6, 6)
conv = nn.Conv2d(1, 1, kernel_size=3, padding=1, padding_mode="circular")
dense = nn.Linear(36, 36)


def roll(T):
    """Shift the last two axes of T circularly: 1 row down and 2 columns right."""
    return torch.roll(T, shifts=(1, 2), dims=(-2, -1))


def dense_image(T):
    """The dense layer applied to a (1, 1, 6, 6) image, reshaped back to an image."""
    return dense(T.reshape(1, 36)).reshape(1, 1, 6, 6)


with torch.no_grad():
    print("conv  commutes with the shift:", torch.allclose(conv(roll(X)), roll(conv(X)), atol=1e-6))
    print("dense commutes with the shift:",
          torch.allclose(dense_image(roll(X)), roll(dense_image(X)), atol=1e-6))

# %% [markdown]
# A real photo is not a torus: when the camera pans, content leaves the frame for good and new,
# unknown content enters on the other side. The simplest model of that fills the vacated cells with
# zeros. With the shifted image $\mathbf Y = S_{\delta_y, \delta_x}\mathbf X$ defined by
#
# $$[\mathbf Y]_{i,j} = \begin{cases} [\mathbf X]_{i-\delta_y,\, j-\delta_x} &
#   \text{if } 0 \le i-\delta_y < h \text{ and } 0 \le j-\delta_x < w, \\
#   0 & \text{otherwise,} \end{cases}$$
#
# a cross-correlation of the shifted image equals the shifted cross-correlation everywhere the
# window does not touch the vacated border. The test below your function checks exactly that.
#
# ### Exercise 4 · `shift2d` (4 points)
#
# Write `shift2d(X, dy, dx)` for `X` of shape `(h, w)`: the image moved **down** by `dy` rows and
# **right** by `dx` columns, as in the formula above.
#
# - Negative `dy` moves up, negative `dx` moves left; either may be 0.
# - The result has the same shape as `X`. Cells that nothing moves into are 0; pixels pushed out
#   of the frame are lost (so `torch.roll`, which wraps them around, is not enough on its own).
#   A shift by the full height or width leaves an all-zero image.
# - Do not modify `X`, and keep the result differentiable with respect to `X`: build it from `X`
#   with tensor operations (slicing, `torch.zeros` plus assignment, `torch.cat`, ...), not through
#   `.tolist()`, `.item()` or `torch.tensor(...)`.
# - Careful with Python slices: `X[:-0]` is empty, not all of `X`.

# %% solution shift2d

# %% tests test_shift2d points=4
import torch
from torch.nn import functional as F
from course.checks import expect_close, expect_gradient, expect_unchanged

X = torch.arange(1.0, 13.0).reshape(3, 4)
print(shift2d(X, 1, 2))
expect_close(expect_unchanged(shift2d, X, 1, 2, name="shift2d"),
             torch.tensor([[0., 0., 0., 0.], [0., 0., 1., 2.], [0., 0., 5., 6.]]),
             "shift2d(X, 1, 2)",
             "dy moves the rows down, dx the columns right; vacated cells are 0",
             mistakes={"wrapped around like torch.roll? vacated cells are 0":
                       [[11., 12., 9., 10.], [3., 4., 1., 2.], [7., 8., 5., 6.]],
                       "shifted the wrong way? a positive dy moves down, a positive dx right":
                       [[7., 8., 0., 0.], [11., 12., 0., 0.], [0., 0., 0., 0.]],
                       "dy and dx swapped? dy moves the rows, dx the columns":
                       [[0., 0., 0., 0.], [0., 0., 0., 0.], [0., 1., 2., 3.]]})
expect_close(shift2d(X, -1, 0),
             torch.tensor([[5., 6., 7., 8.], [9., 10., 11., 12.], [0., 0., 0., 0.]]),
             "shift2d(X, -1, 0)", "a negative dy moves the rows up")

# Translation equivariance: correlating the shifted image = shifting the correlated image,
# wherever the window stays clear of the vacated border (rows >= dy, columns >= dx).
K = torch.tensor([[1.0, 2.0], [0.0, -1.0]])
image = torch.randn(6, 7, generator=torch.Generator().manual_seed(0))


def corr(T):
    """Cross-correlation of T (h, w) with K, no padding."""
    return F.conv2d(T[None, None], K[None, None])[0, 0]


expect_close(corr(shift2d(image, 2, 1))[2:, 1:], shift2d(corr(image), 2, 1)[2:, 1:],
             "corr(shift2d(image, 2, 1)) away from the border",
             "correlating the shifted image should equal shifting the correlated image")
print("shift2d: the visible checks pass, and the correlation commutes with your shift")
### BEGIN HIDDEN TESTS


def expected_shift(X, dy, dx):
    """X moved down by dy and right by dx: framed by zeros as large as X, then cropped."""
    h, w = X.shape
    return F.pad(X, (w, w, h, h))[h - dy:2 * h - dy, w - dx:2 * w - dx]


g = torch.Generator().manual_seed(1)
X = torch.randn(5, 7, generator=g)
row = torch.randn(1, 6, generator=g)
expect_unchanged(shift2d, X, 2, -3)
expect_unchanged(shift2d, X, -1, 4)
expect_gradient(shift2d, X, 1, 2)
for image, (dy, dx), hint in [
        (X, (2, 0), "dy moves the rows down (height), dx the columns right (width); vacated rows "
                    "are 0, not wrapped around as by torch.roll"),
        (X, (0, 3), "dx moves the columns right and dy=0 keeps the rows (X[:-0] is empty!); "
                    "vacated columns are 0, not wrapped around"),
        (X, (-1, 0), "a negative dy moves the rows up"),
        (X, (0, -2), "a negative dx moves the columns left"),
        (X, (3, -4), "dy and dx swapped? dy counts rows, dx columns"),
        (X, (-4, 6), "dy and dx swapped? dy counts rows, dx columns"),
        (X, (0, 0), "a zero shift returns a copy of X (X[:-0] is empty!)"),
        (X, (5, 0), "a shift by the full height leaves only zeros"),
        (X, (0, -7), "a shift by the full width leaves only zeros"),
        (X.double(), (1, -2), "a float64 X (a float32 result is fine)"),
        (row, (0, -2), "a single row moved left"),
        (row, (1, 0), "a single row moved down by one leaves only zeros")]:
    h, w = image.shape
    expect_close(shift2d(image, dy, dx), expected_shift(image, dy, dx),
                 f"shift2d(X, {dy}, {dx}) for a {h} x {w} X", hint)
# A shift beyond the height or the width leaves only zeros, whatever the other shift is.
for dy, dx in [(6, 2), (-8, -1), (1, 9), (-3, -12)]:
    expect_close(shift2d(X, dy, dx), torch.zeros_like(X), f"shift2d(X, {dy}, {dx}) for a 5 x 7 X",
                 "a shift beyond the height (or the width) moves every cell out: only zeros are "
                 "left, even when the other shift is small")
### END HIDDEN TESTS

# %% [markdown]
# ## 4 · One dimension: `corr1d`
#
# Images are not the only data with these symmetries. Audio, time series and text are *sequences*,
# where a translation is a shift in time: a spoken word sounds the same at second 3 and at second
# 30, and what matters for a sound is its close neighbourhood in time. Both principles apply, and
# the convolutional layer loses one index:
#
# $$[\mathbf h]_i = u + \sum_{a=-\Delta}^{\Delta} [\mathbf v]_a\, [\mathbf x]_{i+a}.$$
#
# In code we index from 0. With an input $\mathbf x$ of length $n$ and a kernel $\mathbf k$ of
# length $m$, the window at position $i$ covers $x_i, \dots, x_{i+m-1}$:
#
# $$y_i = \sum_{a=0}^{m-1} k_a\, x_{i+a}, \qquad i = 0, 1, \dots, n - m.$$
#
# The window must fit entirely inside $\mathbf x$, so there are $n - m + 1$ outputs. For example,
# with $\mathbf x = (0, 1, 2, 3, 4, 5, 6)$ and $\mathbf k = (1, 2)$:
# $y_0 = 0 \cdot 1 + 1 \cdot 2 = 2$, $y_1 = 1 \cdot 1 + 2 \cdot 2 = 5$, and so on up to
# $y_5 = 5 \cdot 1 + 6 \cdot 2 = 17$.
#
# ### Exercise 5 · `corr1d` (4 points)
#
# Write `corr1d(x, k)`: the 1-D cross-correlation of `x` (shape `(n,)`) with `k` (shape `(m,)`,
# `m <= n`), a tensor of shape `(n - m + 1,)` following the formula above.
#
# - Slide `k` as it is. Flipping it first gives a true *convolution*, which is what `np.convolve`
#   computes; it is not what we want here.
# - Do not call `F.conv1d`, `nn.Conv1d`, `np.correlate` or `np.convolve`; loops, slicing,
#   `unfold` and `matmul` are fine.
# - Do not modify `x` or `k`, and keep the result differentiable (no `.item()` or `torch.tensor`
#   of a list).

# %% solution corr1d

# %% tests test_corr1d points=4
import torch
from torch.nn import functional as F
from course.checks import (expect_close, expect_gradient, expect_no_library, expect_shape,
                           expect_unchanged)

x = torch.tensor([0.0, 1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
k = torch.tensor([1.0, 2.0])
print(corr1d(x, k))
expect_shape(corr1d(x, k), (6,), "corr1d(x, k)", "there are n - m + 1 window positions")
expect_close(corr1d(x, k), torch.tensor([2.0, 5.0, 8.0, 11.0, 14.0, 17.0]), "corr1d(x, k)",
             "y_i = k_0 * x_i + k_1 * x_(i+1)",
             mistakes={"kernel flipped (a true convolution)? cross-correlation uses k as it is":
                       [1.0, 4.0, 7.0, 10.0, 13.0, 16.0]})
expect_no_library(corr1d, x, k, name="corr1d")
print("corr1d: the visible checks pass")
### BEGIN HIDDEN TESTS


def reference(x, k):
    """PyTorch's 1-D cross-correlation of x (n,) with k (m,), in float64."""
    return F.conv1d(x.double()[None, None], k.double()[None, None])[0, 0]


g = torch.Generator().manual_seed(0)
x, k = torch.randn(9, generator=g), torch.randn(3, generator=g)
expect_no_library(corr1d, x, k, families=("convolution",))
expect_unchanged(corr1d, x, k)
expect_gradient(corr1d, x, k)
for n, m, dtype, hint in [
        (9, 2, torch.float32, "kernel flipped? cross-correlation slides k as it is "
                              "(np.convolve flips it)"),
        (12, 4, torch.float32, "does your code assume a kernel of length 2?"),
        (9, 1, torch.float32, "a kernel of length 1 just scales x"),
        (9, 9, torch.float32, "a kernel as long as x gives exactly one output"),
        (11, 5, torch.float64, "float64 x and k (a float32 result is fine)")]:
    x, k = torch.randn(n, generator=g, dtype=dtype) * 10, torch.randn(m, generator=g, dtype=dtype)
    name = f"corr1d(x, k) with len(x) = {n}, len(k) = {m}"
    y = corr1d(x, k)
    expect_shape(y, (n - m + 1,), name,
                 f"there are n - m + 1 = {n - m + 1} window positions, each as long as k")
    expect_close(y, reference(x, k), name, hint)
### END HIDDEN TESTS

# %% [markdown]
# ## 5 · Questions
#
# **Question 1 (2 points).** Translation invariance is an assumption. Describe a concrete task in
# which it is a bad assumption, say why, and suggest what a model could do instead.

# %% [markdown] answer q_invariance points=2
# Translation invariance is a bad idea whenever *where* something is carries meaning. Examples:
# aligned face images, where the eyes are always in the same place and a dark blob at eye level
# means something different from one at the chin; registered medical scans, where the same
# texture is normal in one organ and a tumour in another; a chess or Go board, where a piece's
# square matters; forms and receipts, where a number's field is known by its position; reading an
# analogue clock, where the hand's position *is* the answer. A translation-invariant layer cannot
# tell "the same patch here" from "the same patch there", so it has to recover the position
# indirectly (from padding effects at the border or from the final dense layer). Remedies: add
# the coordinates as extra input channels (CoordConv) or use positional encodings; give each
# location its own weights (a locally connected layer, as DeepFace did for aligned faces); or keep
# the convolutional features and let a dense layer on top combine them by position.

# %% [markdown]
# **Question 2 (2 points).** Locality lets one layer see only a $(2\Delta+1) \times (2\Delta+1)$
# window. How can a CNN nevertheless recognise an object much larger than that window? Why not
# simply choose a large $\Delta$ instead?

# %% [markdown] answer q_locality points=2
# By stacking layers. A unit of the second layer sees a window of first-layer units, each of which
# sees a window of pixels, so its receptive field on the image grows by $2\Delta$ with every layer
# (and faster with strides and pooling, chapters 3 and 5). Deep layers therefore combine local
# features (edges) into larger ones (parts, objects) that span much of the image. A large $\Delta$
# would cost parameters and computation quadratically: one layer with a $5 \times 5$ window has 25
# weights per channel pair, two stacked $3 \times 3$ layers see the same $5 \times 5$ region with
# only 18 and have a nonlinearity in between, so they can express more. A huge window also gives
# up most of the locality assumption: more parameters to learn from the same data, so more data
# is needed and overfitting is more likely.

# %% [markdown]
# ## Summary
#
# - A dense layer on an image needs one weight per (pixel, hidden unit) pair: $10^{12}$ for a
#   megapixel image, and it ignores the image's structure.
# - **Translation invariance**: all patches of an image are treated the same way, so the weights
#   do not depend on the position.
# - **Locality**: only a small neighbourhood of $(2\Delta+1)^2$ pixels is used to compute each
#   hidden value.
# - Together they give the convolutional layer, with far fewer parameters than a fully-connected
#   one: $(2\Delta+1)^2 + 1$ per channel pair instead of $n_h n_w m_h m_w + m_h m_w$.
# - CNNs are the networks built from convolutional layers. Input and output **channels** let them
#   capture several aspects of an image (edges, colours, textures) at every location.
# - The same ideas work in one dimension for sequences: `corr1d`.
