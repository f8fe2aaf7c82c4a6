# %% [markdown]
# # Fixture chapter
# A small chapter for the engine tests (tests/hostile/course_fixture.py builds it with
# autograder.author: solution cells come from the answer key). Never imported.


# %%
import torch
from torch import nn
from torch.nn import functional as F
from d2l import torch as d2l

# %% solution fc_param_count

# %% tests test_fc_param_count points=2
from course.checks import expect_count
expect_count(fc_param_count(2, 2, 2, 2), 20, "fc_param_count(2, 2, 2, 2)")
### BEGIN HIDDEN TESTS
expect_count(fc_param_count(3, 4, 2, 5, bias=False), 120, "fc_param_count(3, 4, 2, 5, bias=False)")
expect_count(fc_param_count(1, 1, 1, 1), 2, "fc_param_count(1, 1, 1, 1)")
### END HIDDEN TESTS

# %% solution corr2d

# %%
X = torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])
K = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
corr2d(X, K)

# %% tests test_corr2d points=3
import torch
from torch.nn import functional as F
from course.checks import expect_close, expect_gradient, expect_no_library, expect_unchanged
X = torch.tensor([[0.0, 1.0, 2.0], [3.0, 4.0, 5.0], [6.0, 7.0, 8.0]])
K = torch.tensor([[0.0, 1.0], [2.0, 3.0]])
expect_close(corr2d(X, K), torch.tensor([[19.0, 25.0], [37.0, 43.0]]), "corr2d(X, K)")
### BEGIN HIDDEN TESTS
g = torch.Generator().manual_seed(0)
X = torch.randn(5, 7, generator=g)
K = torch.tensor([[1.0, -2.0, 0.5], [0.0, 3.0, -1.0]])
expect_close(corr2d(X, K), F.conv2d(X[None, None], K[None, None])[0, 0], "corr2d on a 5x7 input",
             hint="kernel flipped?")
X64 = torch.randn(4, 6, generator=g, dtype=torch.float64)
expect_close(corr2d(X64, K.double()), F.conv2d(X64[None, None], K.double()[None, None])[0, 0],
             "corr2d on float64 inputs")
expect_unchanged(corr2d, X, K, name="corr2d")
grad = expect_gradient(corr2d, X, K, name="corr2d")
assert grad.shape == X.shape, "the gradient has the wrong shape"
expect_no_library(corr2d, X, K, families=("convolution",), name="corr2d")
### END HIDDEN TESTS

# %% solution Conv2D

# %% tests test_Conv2D points=2
import torch
from torch import nn
from torch.nn import functional as F
from course.checks import expect_close, expect_shape
layer = Conv2D((1, 2))
expect_shape(layer.weight.detach(), (1, 2), "Conv2D((1, 2)).weight")
### BEGIN HIDDEN TESTS
layer = Conv2D((2, 3))
assert isinstance(layer.weight, nn.Parameter), "weight must be an nn.Parameter"
with torch.no_grad():
    layer.bias.fill_(0.5)
X = torch.randn(5, 7, generator=torch.Generator().manual_seed(1))
out = layer(X)
expect_close(out, F.conv2d(X[None, None], layer.weight.detach()[None, None])[0, 0] + 0.5,
             "Conv2D((2, 3))(X)")
out.sum().backward()
assert layer.weight.grad is not None and layer.bias.grad is not None, "Conv2D lost the gradient"
expect_close(layer.bias.grad, torch.tensor([float(out.numel())]), "the gradient of the bias")
### END HIDDEN TESTS

# %% solution edge_kernel

# %% tests test_edge_kernel points=2
import torch
from course.checks import expect_close
expect_close(edge_kernel('vertical'), torch.tensor([[1.0, -1.0]]), "edge_kernel('vertical')")
### BEGIN HIDDEN TESTS
expect_close(edge_kernel('horizontal'), torch.tensor([[1.0], [-1.0]]), "edge_kernel('horizontal')")
try:
    edge_kernel('diagonal')
except ValueError:
    pass
else:
    raise AssertionError("edge_kernel('diagonal') should raise ValueError")
### END HIDDEN TESTS

# %% solution pool2d

# %% tests test_pool2d points=3
import torch
from torch.nn import functional as F
from course.checks import expect_close, expect_no_library
X = torch.arange(9.0).reshape(3, 3)
expect_close(pool2d(X, (2, 2)), torch.tensor([[4.0, 5.0], [7.0, 8.0]]), "pool2d(X, (2, 2))")
### BEGIN HIDDEN TESTS
X = -torch.rand(4, 5, generator=torch.Generator().manual_seed(2))
expect_close(pool2d(X, (2, 3)), F.max_pool2d(X[None], (2, 3), stride=1)[0], "max pooling")
expect_close(pool2d(X, (3, 2), 'avg'), F.avg_pool2d(X[None], (3, 2), stride=1)[0], "avg pooling")
try:
    pool2d(X, (2, 2), 'median')
except ValueError:
    pass
else:
    raise AssertionError("pool2d with mode 'median' should raise ValueError")
expect_no_library(pool2d, X, (2, 2), families=("pooling",), name="pool2d")
### END HIDDEN TESTS

# %% [markdown]
# Why share weights across positions?

# %% [markdown] answer q_sharing points=2
# Translation invariance: the same pattern means the same thing anywhere in the image.
