# %% [markdown]
# # 02 · Cross-correlation: convolutions for images
#
# In chapter 1 we argued our way from a fully-connected layer to a convolution: *locality*
# (look only at a small window) and *translation invariance* (use the same window weights
# everywhere). This chapter turns that argument into code. You will
#
# 1. write the **cross-correlation** that every "convolutional" layer actually computes,
# 2. wrap it into a small **convolutional layer** with a learnable kernel and bias,
# 3. design a kernel by hand that **detects edges**, and then let gradient descent
#    **learn that kernel** from examples,
# 4. see why it does not matter whether a layer flips its kernel (**strict convolution**),
# 5. write a convolution as a (very sparse) **matrix**, the link back to chapter 1, and
# 6. compute how much of the input one output element sees: its **receptive field**.
#
# Graded functions: `corr2d`, `Conv2D`, `edge_kernel`, `learn_kernel`, `conv2d_true`,
# `corr2d_as_matrix`, `receptive_field`. Each comes with a cell of tests you can run; more
# tests are hidden and decide the grade, so make your code right, not just green.
#
# A rule for the whole chapter: compute the answers yourself. Calling the library routine that
# *is* the answer (`torch.nn.functional.conv2d`, `nn.Conv2d`, `d2l.corr2d`, ...) earns no points,
# except in `learn_kernel`, where `nn.Conv2d` is the tool the notes use.

# %%
import torch
from torch import nn
from torch.nn import functional as F

# %% [markdown]
# ## The cross-correlation operation
#
# Slide a small $k_h \times k_w$ array, the **kernel** $\mathbf{K}$, over the input
# $\mathbf{X}$. At every position where the kernel fits entirely inside the input, multiply
# the overlapping entries and add them up. That sum is one entry of the output:
#
# $$Y[i, j] = \sum_{a=0}^{k_h-1} \sum_{b=0}^{k_w-1} X[i+a,\ j+b]\; K[a, b].$$
#
# The kernel fits at $n_h - k_h + 1$ vertical and $n_w - k_w + 1$ horizontal positions, so an
# $n_h \times n_w$ input gives an output of size
#
# $$(n_h - k_h + 1) \times (n_w - k_w + 1).$$
#
# Example: with $\mathbf{X} = \begin{pmatrix}0&1&2\\3&4&5\\6&7&8\end{pmatrix}$ and
# $\mathbf{K} = \begin{pmatrix}0&1\\2&3\end{pmatrix}$ the output is $2 \times 2$ and its top-left
# entry is $0\cdot0 + 1\cdot1 + 3\cdot2 + 4\cdot3 = 19$.
#
# Deep-learning libraries call this operation a *convolution*, although mathematically it is a
# cross-correlation: a true convolution flips the kernel first (more on that below).

# %% [markdown]
# ### Exercise 1 · `corr2d` (3 points)
#
# Write `corr2d(X, K)`: the 2-D cross-correlation of `X` (shape `(n_h, n_w)`) with `K`
# (shape `(k_h, k_w)`), returning a tensor of shape `(n_h - k_h + 1, n_w - k_w + 1)`.
#
# - Use `K` as it is: do not flip it.
# - Do not modify `X` or `K`, and keep the result differentiable (build it from tensor
#   operations, not from `.item()` or `float(...)`).
# - A float32 result for float64 inputs is fine.
# - Do not call `F.conv2d`, `nn.Conv2d` or `d2l.corr2d`: two loops over the output positions
#   are all you need.

# %% solution corr2d

# %% [markdown]
# The notes' example:

# %% raises-exception
X = torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])
K = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
corr2d(X, K)

# %% tests test_corr2d points=3
import torch
from torch.nn import functional as F
from course.checks import expect_close, expect_gradient, expect_no_library, expect_shape, \
    expect_unchanged

X_notes = torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])
K_notes = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
expect_close(expect_unchanged(corr2d, X_notes, K_notes, name="corr2d"),
             torch.tensor([[19.0, 25.0], [37.0, 43.0]]), "corr2d(X, K) on the notes' example",
             mistakes={"kernel flipped? cross-correlation uses K as it is, 0 * 0 + 1 * 1 + 3 * 2 "
                       "+ 4 * 3 = 19": [[5.0, 11.0], [23.0, 29.0]],
                       "kernel transposed (height and width swapped)? K[a, b] multiplies "
                       "X[i + a, j + b]": [[17.0, 23.0], [35.0, 41.0]]})
expect_shape(corr2d(torch.ones(6, 8), torch.ones(1, 2)), (6, 7),
             "corr2d of a 6x8 input with a 1x2 kernel",
             mistakes={"kernel height and width swapped? K.shape is (k_h, k_w)": (5, 8)})
expect_gradient(corr2d, X_notes, K_notes, name="corr2d")
expect_no_library(corr2d, X_notes, K_notes, name="corr2d")
print("corr2d passes the visible tests")
# ### BEGIN HIDDEN TESTS
g = torch.Generator().manual_seed(0)


def oracle(X, K):
    return F.conv2d(X.double()[None, None], K.double()[None, None])[0, 0]


# An asymmetric kernel on a non-square input: a flipped or transposed kernel shows here.
X = torch.randn(5, 7, generator=g)
K = torch.tensor([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]])
got = expect_unchanged(corr2d, X, K, name="corr2d")
expect_shape(got, (4, 5), "corr2d of a 5x7 input with a 2x3 kernel")
assert not torch.allclose(got.double(), oracle(X, K.flip(0, 1)), atol=1e-4), (
    "corr2d(X, K) equals the result of the flipped kernel: kernel flipped? Cross-correlation "
    "uses K as it is")
expect_close(got, oracle(X, K), "corr2d(X, K) for a 5x7 X and a 2x3 K")
# A tall kernel on a wide input: swapped heights and widths show here.
X = torch.randn(4, 9, generator=g)
K = torch.tensor([[2.0], [-1.0], [0.5]])
expect_close(corr2d(X, K), oracle(X, K), "corr2d with a 3x1 kernel on a 4x9 input",
             hint="height and width swapped?")
# Kernel as large as the input, and a 1x1 kernel.
X = torch.randn(3, 4, generator=g)
K = torch.randn(3, 4, generator=g)
expect_close(corr2d(X, K), oracle(X, K), "corr2d with a kernel as large as the input",
             hint="off by one in the output size?")
expect_close(corr2d(X, torch.tensor([[-2.0]])), -2.0 * X, "corr2d with a 1x1 kernel")
# float64 inputs (a float32 result is accepted).
X = torch.randn(6, 5, generator=g, dtype=torch.float64)
K = torch.randn(2, 2, generator=g, dtype=torch.float64)
expect_close(corr2d(X, K), oracle(X, K), "corr2d on float64 inputs")
# A gradient, and no library routine that is the answer.
X = torch.randn(5, 6, generator=g)
K = torch.randn(2, 3, generator=g)
grad = expect_gradient(corr2d, X, K, name="corr2d")
X_ref = X.clone().requires_grad_(True)
out = F.conv2d(X_ref[None, None], K[None, None])[0, 0]
(out * torch.arange(1.0, out.numel() + 1).reshape(out.shape)).sum().backward()
expect_close(grad, X_ref.grad, "the gradient of corr2d with respect to X")
expect_no_library(corr2d, X, K, families=("convolution",), name="corr2d")
print("corr2d passes the hidden tests")
# ### END HIDDEN TESTS

# %% [markdown]
# ### Explore: slide the kernel
#
# Pick an input and a kernel (the notes' `K`, the edge kernel, a blur, or type your own), then
# move the kernel with the row and column sliders. The window, the kernel and the output cell are
# highlighted and the sum of products is written out. The explorer also checks the `corr2d` you
# ran last against PyTorch's: it redraws after any cell that changes it, and its caption names
# that cell.

# %% widget
from course.explorers import correlation_explorer
correlation_explorer()

# %% [markdown]
# ## Convolutional layers
#
# A convolutional layer cross-correlates its input with a kernel and adds a scalar bias:
#
# $$\mathbf{Y} = \mathbf{X} \star \mathbf{K} + b.$$
#
# The kernel and the bias are the layer's **parameters**: we do not choose them, training does.
# In PyTorch a module makes a tensor trainable by wrapping it in `nn.Parameter`; the module then
# lists it in `parameters()`, autograd computes its gradient, and optimisers update it. Like
# a dense layer, the kernel starts from random values (here uniform on $[0, 1)$) and the bias at
# zero.

# %% [markdown]
# ### Exercise 2 · `Conv2D` (2 points)
#
# Write the class `Conv2D(nn.Module)`:
#
# - `Conv2D(kernel_size)` takes a pair `(k_h, k_w)` and creates two parameters (`nn.Parameter`):
#   `weight` of shape `kernel_size`, randomly initialised, and `bias` of shape `(1,)`, zero.
# - `forward(x)` returns `corr2d(x, self.weight) + self.bias` for an `x` of shape `(n_h, n_w)`.
#   Use your `corr2d`, not `F.conv2d` or `nn.Conv2d`, and keep the parameters in the
#   computation (no `.data` or `.detach()`), so that autograd can train them.

# %% solution Conv2D

# %% [markdown]
# Its two parameters, by name and shape:

# %% raises-exception
layer = Conv2D((1, 2))
[(name, tuple(parameter.shape)) for name, parameter in layer.named_parameters()]

# %% tests test_Conv2D points=2
import torch
from torch import nn
from torch.nn import functional as F
from course.checks import expect_close, expect_no_library, expect_shape

layer = Conv2D((1, 2))
expect_shape(layer.weight.detach(), (1, 2), "Conv2D((1, 2)).weight")
expect_shape(layer.bias.detach(), (1,), "Conv2D((1, 2)).bias",
             hint="one scalar bias per layer, stored with shape (1,)")
assert isinstance(layer.weight, nn.Parameter) and isinstance(layer.bias, nn.Parameter), (
    "weight and bias must be nn.Parameter, so that the module registers them as parameters")
expect_shape(layer(torch.ones(6, 8)), (6, 7), "Conv2D((1, 2)) applied to a 6x8 input")
expect_no_library(layer, torch.ones(6, 8), name="Conv2D")
print("Conv2D passes the visible tests")
# ### BEGIN HIDDEN TESTS
g = torch.Generator().manual_seed(1)
layer = Conv2D((2, 3))
weight, bias = layer.weight, layer.bias
expect_shape(weight.detach(), (2, 3), "Conv2D((2, 3)).weight")
expect_shape(bias.detach(), (1,), "Conv2D((2, 3)).bias",
             hint="one scalar bias per layer, stored with shape (1,)")
assert isinstance(weight, nn.Parameter) and isinstance(bias, nn.Parameter), (
    "weight and bias must be nn.Parameter, so that the module registers them as parameters")
shapes = sorted(tuple(p.shape) for p in layer.parameters())
assert shapes == [(1,), (2, 3)], (
    f"Conv2D((2, 3)).parameters() holds tensors of shapes {shapes}, expected the weight (2, 3) "
    "and the bias (1,): were they wrapped in nn.Parameter?")
# forward = corr2d(x, weight) + bias
X = torch.randn(5, 7, generator=g)
out = layer(X)
expected = F.conv2d(X[None, None], weight.detach()[None, None])[0, 0] + bias.detach()
expect_close(out, expected, "Conv2D((2, 3))(X)", hint="forward should be corr2d(x, weight) + bias")
# Autograd reaches both parameters: d(sum(R * out))/d weight = corr2d(X, R), d/d bias = sum(R).
R = torch.randn(out.shape, generator=g)
(out * R).sum().backward()
assert weight.grad is not None, (
    "Conv2D lost the gradient of its weight: forward must use self.weight itself "
    "(not .data, .detach() or a copy)")
assert bias.grad is not None, (
    "Conv2D lost the gradient of its bias: bias forgotten in forward, or used through "
    ".data/.detach()?")
expect_close(weight.grad, F.conv2d(X[None, None], R[None, None])[0, 0],
             "the gradient of the weight")
expect_close(bias.grad, R.sum().reshape(1), "the gradient of the bias")
expect_no_library(Conv2D((2, 2)), X, families=("convolution",), name="Conv2D's forward")
print("Conv2D passes the hidden tests")
# ### END HIDDEN TESTS

# %% [markdown]
# ## Object edge detection in images
#
# A first use of a convolutional layer: find where the colour changes. Take a $6 \times 8$ image
# that is white (1) on the left and right and black (0) in the middle. The kernel
# $\mathbf{K} = (1, -1)$ computes "this pixel minus its right neighbour": the output is 0 where
# the two pixels agree, 1 on an edge from white to black and $-1$ on an edge from black to white.
#
# ### Exercise 3 · `edge_kernel` (2 points)
#
# Write `edge_kernel(direction)`:
#
# - `'vertical'` returns the notes' kernel `[[1., -1.]]`, shape `(1, 2)`; it finds *vertical*
#   edges (where the colour changes from one column to the next);
# - `'horizontal'` returns its transpose `[[1.], [-1.]]`, shape `(2, 1)`, which finds horizontal
#   edges (where the colour changes from one row to the next);
# - anything else raises `ValueError`.
#
# Return float tensors.

# %% solution edge_kernel

# %% tests test_edge_kernel points=2
import torch
from torch.nn import functional as F
from course.checks import expect_close, expect_shape

print(edge_kernel('vertical'))
expect_close(edge_kernel('vertical'), torch.tensor([[1.0, -1.0]]), "edge_kernel('vertical')",
             mistakes={"vertical and horizontal swapped? the vertical-edge kernel is one row "
                       "[[1, -1]]": [[1.0], [-1.0]],
                       "sign flipped? the notes' kernel is [[1, -1]]": [[-1.0, 1.0]]})
expect_shape(edge_kernel('horizontal'), (2, 1), "edge_kernel('horizontal')")
try:
    edge_kernel('diagonal')
except ValueError:
    pass
except Exception as error:
    raise AssertionError(f"edge_kernel('diagonal') raised {type(error).__name__}: an unknown "
                         "direction must raise ValueError (a dict lookup raises KeyError)") from None
else:
    raise AssertionError("edge_kernel('diagonal') should raise ValueError (an unknown direction)")
print("edge_kernel passes the visible tests")
# ### BEGIN HIDDEN TESTS
vertical, horizontal = edge_kernel('vertical'), edge_kernel('horizontal')
expect_shape(vertical, (1, 2), "edge_kernel('vertical')",
             hint="vertical and horizontal swapped? the vertical-edge kernel is one row [[1, -1]]")
expect_shape(horizontal, (2, 1), "edge_kernel('horizontal')",
             hint="the horizontal-edge kernel is one column [[1], [-1]]")
expect_close(vertical, torch.tensor([[1.0, -1.0]]), "edge_kernel('vertical')",
             hint="sign flipped? the notes' kernel is [[1, -1]]")
expect_close(horizontal, torch.tensor([[1.0], [-1.0]]), "edge_kernel('horizontal')",
             hint="sign flipped? it is the transpose of [[1, -1]]")
# Each kernel finds the edges of its direction: +1 from white to black, -1 from black to white.
image = torch.ones(6, 8)
image[:, 2:6] = 0
edge_map = torch.zeros(6, 7)
edge_map[:, 1], edge_map[:, 5] = 1.0, -1.0
expect_close(F.conv2d(image[None, None], vertical.float()[None, None])[0, 0], edge_map,
             "the vertical edges that edge_kernel('vertical') finds in the notes' image")
expect_close(F.conv2d(image.t()[None, None], horizontal.float()[None, None])[0, 0], edge_map.t(),
             "the horizontal edges that edge_kernel('horizontal') finds in the transposed image")
for direction in ('diagonal', 'Up', ''):
    try:
        result = edge_kernel(direction)
    except ValueError:
        continue
    except Exception as error:
        raise AssertionError(
            f"edge_kernel({direction!r}) raised {type(error).__name__}; an unknown direction "
            "must raise ValueError (a dict lookup raises KeyError)") from None
    raise AssertionError(f"edge_kernel({direction!r}) returned {result!r} instead of raising "
                         "ValueError for an unknown direction")
print("edge_kernel passes the hidden tests")
# ### END HIDDEN TESTS

# %% [markdown]
# The notes' example: the image, the kernel, the edges it finds (1 from white to black, $-1$
# from black to white), and what it finds in the transposed image, whose edges are horizontal:
# nothing at all.

# %% raises-exception
# An application in object edge detection in images
# 1. Construct an image
X = torch.ones((6, 8))
X[:, 2:6] = 0
print(X)
# 2. Construct a kernel
K = torch.tensor([[1.0, -1.0]])
print(K)
# 3. Detect 1 for the edge from white to black and -1 for the edge from black to white
Y = corr2d(X, K)
print(Y)
# 4. The kernel cannot detect horizontal edges
corr2d(X.t(), K)

# %% [markdown]
# The `'horizontal'` kernel does see them:

# %% raises-exception
corr2d(X.t(), edge_kernel('horizontal'))

# %% [markdown]
# ## Learning a kernel
#
# Designing kernels by hand works for edges, but not for "the ear of a cat". So let us check that
# a kernel can be *learned* from examples: give a layer the image $\mathbf{X}$ and the edge map
# $\mathbf{Y}$ we just computed, and let gradient descent find $\mathbf{K}$.
#
# The loop below uses PyTorch's built-in `nn.Conv2d`, which works on 4-D tensors of shape
# (example, channel, height, width), with a $1 \times 2$ kernel and no bias. Each epoch it
#
# 1. predicts $\hat{\mathbf{Y}}$ with the current kernel,
# 2. measures the squared error $\ell = \sum_{i,j} (\hat Y_{ij} - Y_{ij})^2$,
# 3. computes $\partial \ell / \partial \mathbf{K}$ by backpropagation (after clearing the old
#    gradient with `zero_grad`, since PyTorch adds gradients up), and
# 4. takes a step $\mathbf{K} \leftarrow \mathbf{K} - \eta\, \partial \ell / \partial \mathbf{K}$
#    with learning rate $\eta = 0.03$.
#
# The kernel starts from random values, so the losses depend on the random initialisation. We
# seed the random generator (`torch.manual_seed`) so that this notebook prints the same numbers
# every time; they differ slightly from the notes' numbers, which came from another random
# start. What does not change: the loss falls fast and the kernel ends close to $(1, -1)$.

# %%
# The training data: the image X and its edge map, which is corr2d(X, K) from above, written
# here as "each pixel minus its right neighbour" so that this cell runs before corr2d does.
X = X.reshape((6, 8))  # (a no-op the first time; lets you re-run this cell)
Y = X[:, :-1] - X[:, 1:]

torch.manual_seed(27)  # the kernel's random start (chosen to land near the notes' numbers)
# Construct a 2d convolutional layer
conv_layer = nn.Conv2d(1, 1, kernel_size=(1, 2), bias=False)

# input and output (example, channel, height, width)
X = X.reshape((1, 1, 6, 8))
Y = Y.reshape((1, 1, 6, 7))
lr = 3e-2

for i in range(10):
    Y_hat = conv_layer(X)
    loss = (Y_hat - Y) ** 2
    conv_layer.zero_grad()
    loss.sum().backward()
    # update the kernel
    conv_layer.weight.data[:] -= lr * conv_layer.weight.grad
    if (i + 1) % 2 == 0:
        print(f'epoch {i + 1}, loss {loss.sum(): .3f}')

# %% [markdown]
# The learned kernel is very close to the $(1, -1)$ we designed by hand:

# %%
conv_layer.weight.data

# %% [markdown]
# ### Explore: learning the edge kernel
#
# The same training loop with sliders for the learning rate and the number of epochs. Watch the
# loss curve, and the learned kernel approach $[1, -1]$; try a learning rate that is too large.

# %% widget
from course.explorers import kernel_training_explorer
kernel_training_explorer()

# %% [markdown]
# ### Exercise 4 · `learn_kernel` (3 points)
#
# Turn the loop into a function. `X` has shape `(h, w)` and `Y` shape `(h', w')`.
#
# - Build `nn.Conv2d(1, 1, kernel_size, bias=False)` (allowed here) and train it for `epochs`
#   epochs with learning rate `lr`, exactly as above.
# - Return a pair `(weight, losses)`: the learned kernel as a tensor of shape `kernel_size`
#   (not `(1, 1, k_h, k_w)`), and a list with the summed squared loss of **every** epoch as
#   Python floats (`loss.sum().item()`), so `len(losses) == epochs`.
# - The loss is the *sum* of squared errors, as in the notes (a mean would change the size of
#   the gradient steps).
# - Do not modify `X` or `Y` (`reshape` gives a new view; `unsqueeze_` would change the caller's
#   tensor).

# %% solution learn_kernel

# %% tests test_learn_kernel points=3
import torch
from torch.nn import functional as F
from course.checks import expect_close, expect_shape, expect_unchanged

image = torch.ones(6, 8)
image[:, 2:6] = 0
edges = image[:, :-1] - image[:, 1:]
weight, losses = expect_unchanged(learn_kernel, image, edges, name="learn_kernel")
expect_shape(weight, (1, 2), "the learned weight", hint="return it with shape kernel_size")
assert len(losses) == 10, f"expected 10 losses (one per epoch), got {len(losses)}"
assert all(isinstance(loss, float) for loss in losses), (
    "the losses should be Python floats: append loss.sum().item(), not the loss tensor")
assert losses[-1] < losses[0], f"the loss did not fall: {losses}"
print("learn_kernel passes the visible tests")
# ### BEGIN HIDDEN TESTS


def falls(losses, factor):
    """True if the losses never rise (beyond float noise) and end below factor * the first."""
    steady = all(b <= a + 1e-5 * (1 + a) for a, b in zip(losses, losses[1:]))
    return steady and losses[-1] < factor * losses[0]


def squared_error(X, Y, weight):
    Y_hat = F.conv2d(X[None, None], weight.detach().float()[None, None])[0, 0]
    return float(((Y_hat - Y) ** 2).sum())


# The notes' data and settings: gradient descent on a quadratic shrinks the loss every epoch
# (by at least 0.64 here), whatever the random start.
assert falls(losses, 0.05), (
    f"with the notes' data, lr=3e-2 and 10 epochs the loss should fall steadily to under 5% of "
    f"its start, got {losses}: sign of the update, a missing zero_grad, or a mean instead of a sum?")
# With enough epochs it converges to the notes' kernel.
weight, losses = learn_kernel(image, edges, (1, 2), 3e-2, 40)
assert len(losses) == 40, f"epochs=40 gave {len(losses)} losses: one loss for every epoch"
expect_close(weight, torch.tensor([[1.0, -1.0]]), "the kernel learned in 40 epochs",
             hint="it should converge to [[1, -1]]", atol=1e-2, rtol=0)
# lr = 0 leaves the kernel where it started: the loss never changes, and it is the summed
# squared error of the returned kernel.
weight, losses = learn_kernel(image, edges, (1, 2), 0.0, 3)
assert len(losses) == 3, f"epochs=3 gave {len(losses)} losses"
assert max(losses) - min(losses) <= 1e-5 * (1 + max(losses)), (
    f"with lr=0 the loss must stay constant, got {losses}: is the lr argument ignored?")
expected = squared_error(image, edges, weight.reshape(1, 2))
assert abs(losses[0] - expected) <= 1e-4 * (1 + expected), (
    f"with lr=0 the loss is {losses[0]:.5g} but the summed squared error of the returned kernel "
    f"is {expected:.5g}: a mean instead of a sum, or a different loss?")
# Another kernel size on other data: a 2x3 kernel learned from random images.
g = torch.Generator().manual_seed(2)
X = torch.randn(6, 7, generator=g)
K = torch.tensor([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]])
Y = F.conv2d(X[None, None], K[None, None])[0, 0]
X_before, Y_before = X.clone(), Y.clone()
weight, losses = learn_kernel(X, Y, kernel_size=(2, 3), lr=2e-2, epochs=25)
assert torch.equal(X, X_before) and torch.equal(Y, Y_before), (
    "learn_kernel modified X or Y: reshape into new tensors instead of changing them in place")
expect_shape(weight, (2, 3), "the weight learned with kernel_size=(2, 3)",
             hint="return it with shape kernel_size, whatever kernel_size is")
assert len(losses) == 25 and all(isinstance(loss, float) for loss in losses), (
    "expected 25 losses (one per epoch), each a Python float")
assert falls(losses, 1e-3), f"the loss did not fall steadily: {losses}"
expect_close(weight, K, "the 2x3 kernel learned from random images", atol=1e-2, rtol=0,
             hint="kernel_size or lr ignored?")
print("learn_kernel passes the hidden tests")
# ### END HIDDEN TESTS

# %% [markdown]
# ## Cross-correlation and convolution
#
# In mathematics, the (discrete, "valid") **convolution** of $\mathbf{X}$ with $\mathbf{K}$ runs
# the kernel backwards:
#
# $$Y[i, j] = \sum_{a=0}^{k_h-1} \sum_{b=0}^{k_w-1} X[i+a,\ j+b]\; K[k_h-1-a,\ k_w-1-b],$$
#
# that is, it is the cross-correlation with the kernel **flipped** both vertically and
# horizontally (rotated by 180°). Flipping only one axis, or transposing, is not the same.
#
# Why, then, may a convolutional layer compute a cross-correlation and still be called
# convolutional? Because its kernel is learned. If a layer computing strict convolutions learned
# the kernel $\mathbf{K}'$, a layer computing cross-correlations would learn the flipped
# $\mathbf{K}'$ and produce exactly the same outputs. The operation and the learned kernel change
# together; the layer's behaviour does not.
#
# ### Exercise 5 · `conv2d_true` (2 points)
#
# Write `conv2d_true(X, K)`, the strict convolution of `X` `(n_h, n_w)` with `K` `(k_h, k_w)`:
# same output shape as `corr2d`, kernel flipped along both axes. You may use `corr2d` and
# `torch.flip`; do not modify `K` (flip into a new tensor) and keep the result differentiable.

# %% solution conv2d_true

# %% tests test_conv2d_true points=2
import torch
from torch.nn import functional as F
from course.checks import expect_close, expect_gradient, expect_no_library, expect_unchanged

X_notes = torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])
K_notes = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
expect_close(expect_unchanged(conv2d_true, X_notes, K_notes, name="conv2d_true"),
             torch.tensor([[5.0, 11.0], [23.0, 29.0]]),
             "conv2d_true(X, K) on the notes' example", hint="K flipped is [[3, 2], [1, 0]]",
             mistakes={"kernel not flipped? that is corr2d: a true convolution flips K along "
                       "both axes": [[19.0, 25.0], [37.0, 43.0]],
                       "kernel flipped along one axis only? flip rows and columns: "
                       "K.flip(0, 1) is [[3, 2], [1, 0]]": [[7.0, 13.0], [25.0, 31.0]],
                       "kernel transposed instead of flipped? K.flip(0, 1) is [[3, 2], [1, 0]], "
                       "K.T is [[0, 2], [1, 3]]": [[17.0, 23.0], [35.0, 41.0]]})
expect_no_library(conv2d_true, X_notes, K_notes, name="conv2d_true")
print("conv2d_true passes the visible tests")
# ### BEGIN HIDDEN TESTS
g = torch.Generator().manual_seed(3)


def oracle(X, K):
    return F.conv2d(X.double()[None, None], K.double().flip(0, 1)[None, None])[0, 0]


# A 3x3 kernel with no symmetry: transposing it, or flipping one axis, gives other numbers.
X = torch.randn(5, 6, generator=g)
K = torch.tensor([[1.0, 2.0, -1.0], [0.0, -3.0, 4.0], [0.5, 0.0, 2.0]])
got = expect_unchanged(conv2d_true, X, K, name="conv2d_true")
assert not torch.allclose(got.double(), F.conv2d(X[None, None], K[None, None])[0, 0].double(),
                          atol=1e-4), "conv2d_true equals corr2d: the kernel was not flipped"
for wrong, mistake in ((K.t(), "transposed instead of flipped"),
                       (K.flip(0), "flipped only up-down"), (K.flip(1), "flipped only left-right")):
    assert not torch.allclose(got.double(), oracle(X, wrong.flip(0, 1)), atol=1e-4), (
        f"conv2d_true: kernel {mistake}? A convolution flips it along both axes")
expect_close(got, oracle(X, K), "conv2d_true(X, K) for a 5x6 X and a 3x3 K")
# A non-square kernel, a kernel as large as the input, float64.
X = torch.randn(4, 7, generator=g)
K = torch.tensor([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]])
expect_close(conv2d_true(X, K), oracle(X, K), "conv2d_true with a 2x3 kernel on a 4x7 input")
K = torch.randn(4, 7, generator=g)
expect_close(conv2d_true(X, K), oracle(X, K), "conv2d_true with a kernel as large as the input")
X = torch.randn(5, 4, generator=g, dtype=torch.float64)
K = torch.randn(2, 3, generator=g, dtype=torch.float64)
expect_close(conv2d_true(X, K), oracle(X, K), "conv2d_true on float64 inputs")
X = torch.randn(5, 6, generator=g)
K = torch.randn(3, 2, generator=g)
expect_gradient(conv2d_true, X, K, name="conv2d_true")
expect_no_library(conv2d_true, X, K, families=("convolution",), name="conv2d_true")
print("conv2d_true passes the hidden tests")
# ### END HIDDEN TESTS

# %% [markdown]
# Summary point 4 of the notes, checked on the learned kernel: a cross-correlation layer that
# learned $\mathbf{K}$ computes the same output as a strict-convolution layer holding the flipped
# kernel.

# %% raises-exception
image = torch.ones((6, 8))
image[:, 2:6] = 0
K_learned = conv_layer.weight.data.reshape(1, 2)
torch.allclose(corr2d(image, K_learned), conv2d_true(image, K_learned.flip(0, 1)))

# %% [markdown]
# ## A convolution is a matrix multiplication
#
# Cross-correlation is linear in $\mathbf{X}$: flatten the input into a vector of length
# $n_h n_w$ (row by row, like `X.reshape(-1)`) and the output into a vector of length
# $o_h o_w$, with $o_h = n_h - k_h + 1$ and $o_w = n_w - k_w + 1$. Then there is a matrix
# $\mathbf{M}$ of shape $(o_h o_w) \times (n_h n_w)$ with
#
# $$\operatorname{vec}(\mathbf{X} \star \mathbf{K}) = \mathbf{M} \operatorname{vec}(\mathbf{X}).$$
#
# Row $i \cdot o_w + j$ of $\mathbf{M}$ computes $Y[i, j]$: it holds the kernel's entries at the
# input positions of window $(i, j)$ and zeros everywhere else. This is the fully-connected layer
# of chapter 1 with our two principles built in: **locality** makes most entries zero, and
# **translation invariance** makes every row hold the same $k_h k_w$ numbers, shifted.
#
# ### Exercise 6 · `corr2d_as_matrix` (2 points)
#
# Write `corr2d_as_matrix(K, n_h, n_w)`, returning the matrix `M` of shape
# `(o_h * o_w, n_h * n_w)` such that `M @ X.reshape(-1)` equals `corr2d(X, K).reshape(-1)` for
# every `n_h x n_w` input `X`. Rows and columns follow `reshape`'s row-major order. Do not call
# `F.conv2d`; you may use your `corr2d`, loops, slicing or anything else.

# %% solution corr2d_as_matrix

# %% tests test_corr2d_as_matrix points=2
import torch
from torch.nn import functional as F
from course.checks import expect_close, expect_no_library, expect_shape, expect_unchanged

K_notes = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
X_notes = torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])
M = corr2d_as_matrix(K_notes, 3, 3)
expect_shape(M, (4, 9), "corr2d_as_matrix(K, 3, 3) for a 2x2 K",
             mistakes={"matrix transposed? M has one row per output cell and one column per "
                       "input cell": (9, 4)})
expect_close(M @ X_notes.reshape(-1), torch.tensor([19.0, 25.0, 37.0, 43.0]),
             "M @ X.reshape(-1) on the notes' example",
             mistakes={"kernel flipped? row i * o_w + j holds K[a, b] at column "
                       "(i + a) * n_w + (j + b)": [5.0, 11.0, 23.0, 29.0],
                       "output cells in column-major order? row i * o_w + j is output cell "
                       "(i, j), rows first": [19.0, 37.0, 25.0, 43.0]})
expect_no_library(corr2d_as_matrix, K_notes, 3, 3, name="corr2d_as_matrix")
print("corr2d_as_matrix passes the visible tests")
# ### BEGIN HIDDEN TESTS
g = torch.Generator().manual_seed(4)


def oracle(K, n_h, n_w):
    """Column p of M is the output for the input that is 1 at position p and 0 elsewhere."""
    basis = torch.eye(n_h * n_w, dtype=torch.float64).reshape(n_h * n_w, 1, n_h, n_w)
    return F.conv2d(basis, K.double()[None, None]).reshape(n_h * n_w, -1).t()


# An asymmetric 2x3 kernel on a 4x6 input: the output is 3x4, M is 12x24.
K = torch.tensor([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]])
M = expect_unchanged(corr2d_as_matrix, K, 4, 6, name="corr2d_as_matrix")
expect_shape(M, (12, 24), "corr2d_as_matrix(K, 4, 6) for a 2x3 K",
             hint="rows: one per output cell (3 * 4), columns: one per input cell (4 * 6)")
expected = oracle(K, 4, 6)
assert not torch.allclose(M.double(), oracle(K.flip(0, 1), 4, 6), atol=1e-4), (
    "corr2d_as_matrix: kernel flipped? It should reproduce corr2d, which uses K as it is")
expect_close(M, expected, "corr2d_as_matrix(K, 4, 6)",
             hint="row i * o_w + j should hold K at the input cells of window (i, j), row-major")
for _ in range(2):
    X = torch.randn(4, 6, generator=g)
    expect_close(M @ X.reshape(-1), F.conv2d(X[None, None], K[None, None]).reshape(-1),
                 "M @ X.reshape(-1) for a random 4x6 X")
# A tall kernel on a wide input (height and width swapped?), one as large as the input, 1x1.
K = torch.randn(3, 1, generator=g)
expect_close(corr2d_as_matrix(K, 4, 5), oracle(K, 4, 5), "corr2d_as_matrix with a 3x1 K, 4x5 input",
             hint="height and width swapped?")
K = torch.randn(3, 4, generator=g)
expect_close(corr2d_as_matrix(K, 3, 4), K.reshape(1, -1),
             "corr2d_as_matrix with a kernel as large as the input")
expect_close(corr2d_as_matrix(torch.tensor([[2.5]]), 2, 3), 2.5 * torch.eye(6),
             "corr2d_as_matrix with a 1x1 kernel")
K = torch.randn(2, 2, generator=g, dtype=torch.float64)
expect_close(corr2d_as_matrix(K, 3, 4), oracle(K, 3, 4), "corr2d_as_matrix of a float64 K")
K = torch.randn(2, 3, generator=g)
expect_no_library(corr2d_as_matrix, K, 3, 5, families=("convolution",), name="corr2d_as_matrix")
print("corr2d_as_matrix passes the hidden tests")
# ### END HIDDEN TESTS

# %% [markdown]
# The matrix of the notes' kernel for a $3 \times 3$ input. Each row is the same four numbers
# 0, 1, 2, 3, shifted; of its 36 entries only those 16 are not forced to be zero.

# %% raises-exception
M = corr2d_as_matrix(torch.tensor([[0.0, 1.0], [2.0, 3.0]]), 3, 3)
print(M)
print(M @ torch.arange(9.0))

# %% [markdown]
# ## Feature map and receptive field
#
# The output of a convolutional layer is also called a **feature map**: a map, over space, of
# the features the layer has found (edges, for our kernel). For any element $x$ of some layer, its
# **receptive field** is the set of all the elements, in all the previous layers, that may affect
# $x$ in the forward pass.
#
# One $3 \times 3$ layer: an output element sees a $3 \times 3$ patch of the input. Stack a second
# $3 \times 3$ layer on top: one of its outputs sees $3 \times 3$ elements of the first feature
# map, and together those see a $5 \times 5$ patch of the input. Each layer widens the view, so
# **when a feature needs a broader context, make the network deeper**.
#
# Going down one layer with kernel size $k$ and stride $s$ (the step between two windows; the
# next chapter covers it) turns a region of height $r$ into one of height
#
# $$r \mapsto (r - 1)\, s + k:$$
#
# the $r$ windows start $s$ rows apart and the last one adds $k$ rows. Start with $r = 1$ at the
# output and apply this from the **last layer down to the first**. The receptive field may be
# larger than the input itself: then the output element sees the whole input (and the padding).
#
# ### Exercise 7 · `receptive_field` (2 points)
#
# Write `receptive_field(layers)`: `layers` is a list of `(kernel_size, stride)` pairs, first
# layer first; return, as an `int`, the height of the input region that one element of the last
# layer's output sees. Example: `receptive_field([(3, 1), (3, 1)]) == 5`.

# %% solution receptive_field

# %% tests test_receptive_field points=2
import numbers
import torch
from torch.nn import functional as F

from course.checks import expect_count

for layers, expected, mistakes in (
        ([(3, 1)], 3, {}),
        ([(3, 1), (3, 1)], 5, {"kernel sizes added? each layer adds k - 1 rows": 6,
                               "kernel sizes multiplied? each layer adds k - 1 rows": 9}),
        ([(2, 2), (3, 2)], 6, {"layers taken in the wrong order? apply r -> (r - 1) s + k from "
                               "the last layer down to the first": 5,
                               "strides ignored? r -> (r - 1) s + k": 4})):
    expect_count(receptive_field(layers), expected, f"receptive_field({layers})",
                 mistakes=mistakes)
print("receptive_field passes the visible tests")
# ### BEGIN HIDDEN TESTS


def oracle(layers):
    """Backpropagate from one output element through all-ones kernels; measure what it reaches."""
    x = torch.zeros(1, 1, 80, 1, requires_grad=True)
    y = x
    for kernel_size, stride in layers:
        y = F.conv2d(y, torch.ones(1, 1, kernel_size, 1), stride=(stride, 1))
    y[0, 0, 0, 0].backward()
    rows = torch.nonzero(x.grad[0, 0, :, 0]).flatten()
    return int(rows[-1] - rows[0] + 1)


cases = [
    [(5, 1)], [(1, 1)], [(2, 2)], [(3, 2)],
    [(3, 1), (2, 2)],
    [(2, 2), (3, 1)],                  # the first layer's stride spreads the second's windows
    [(3, 2), (3, 2), (3, 2)],
    [(7, 2), (3, 2), (3, 1)],
    [(2, 2), (2, 2), (2, 2), (2, 2)],
    [(3, 1), (3, 1), (3, 1), (3, 1)],
    [(1, 1), (5, 3), (1, 1)],
]
for layers in cases:
    expected = oracle(layers)
    result = receptive_field(layers)
    assert isinstance(result, numbers.Number) and not isinstance(result, bool), (
        f"receptive_field({layers}) returned {type(result).__name__}, expected an int")
    if result == expected:
        continue
    hint = ""
    if result == 1 + sum(k - 1 for k, _ in layers):
        hint = " (strides ignored?)"
    elif result == oracle(layers[::-1]):
        hint = " (layers taken in the wrong order? go from the last layer down to the first)"
    raise AssertionError(f"receptive_field({layers}) returned {result}, expected {expected}{hint}")
print("receptive_field passes the hidden tests")
# ### END HIDDEN TESTS

# %% [markdown]
# Two $3 \times 3$ layers see as much as one $5 \times 5$ layer, and three see as much as one
# $7 \times 7$:

# %% raises-exception
[receptive_field([(3, 1)] * depth) for depth in range(1, 5)]

# %% [markdown]
# ## Questions
#
# **Question 1 (2 points).** A colleague says: "PyTorch's `nn.Conv2d` is wrong, it computes a
# cross-correlation, not a convolution." Explain why a trained network does not care, using the
# edge detector you learned above: what kernel would a strict-convolution layer have learned on
# the same data, and what would its outputs be?

# %% [markdown] answer q_flip points=2
# A strict convolution is a cross-correlation with the kernel flipped along both axes, and the
# kernel is learned, not fixed. Trained on the same X and Y, a strict-convolution layer would
# learn the flipped kernel, about (-1, 1) instead of (1, -1): gradient descent finds whatever
# kernel makes the outputs match Y, and the flip of the cross-correlation solution does exactly
# that. Its outputs would be the same edge map. The operation and the learned kernel change
# together, so the function the trained layer computes is identical; only the stored kernel is
# mirrored (which matters if you copy kernels between the two conventions).

# %% [markdown]
# **Question 2 (2 points).** To give each output element a $5 \times 5$ view of the input you can use
# one $5 \times 5$ layer or two stacked $3 \times 3$ layers (one input and one output channel,
# no bias). Compare their numbers of parameters and what each can compute. When does a network
# need such large receptive fields at all?

# %% [markdown] answer q_depth points=2
# One 5x5 layer has 25 weights; two 3x3 layers have 9 + 9 = 18 and the same 5x5 receptive field
# (3 + 3 - 1 = 5). Without a nonlinearity between them the two 3x3 layers compute one 5x5
# cross-correlation whose kernel is the composition of the two small ones, so they can express
# only some 5x5 kernels (those that factor), with fewer parameters. With a nonlinearity (ReLU)
# between them they compute something a single linear 5x5 layer cannot, which is why deep stacks
# of small kernels are popular. Large receptive fields are needed when a feature depends on a
# broad context: edges need 2 pixels, but an eye, a face or a whole object spans many, so deeper
# layers must see a large part of the image to detect them.

# %% [markdown]
# ## Summary
#
# - The core computation of a 2-D convolutional layer is a 2-D cross-correlation of the input
#   with a kernel, plus a bias.
# - We can design a kernel by hand to detect edges, and we can learn a kernel's parameters from
#   data by gradient descent.
# - With learned kernels it makes no difference whether a layer computes a strict convolution or
#   a cross-correlation: the learned kernel is simply flipped.
# - A convolution is a fully-connected layer whose matrix is sparse (locality) and repeats the
#   same few weights (translation invariance).
# - When an element of a feature map needs a larger receptive field to detect broader features of
#   the input, use a deeper network.
