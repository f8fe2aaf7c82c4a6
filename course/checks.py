"""Friendly checks for the chapters' test cells.

Each check raises ``AssertionError`` with a message that says what is wrong and, where a
classic mistake is the likely cause, names it. The same helpers serve the visible tests a
student runs and the hidden tests that decide the grade.
"""
import contextlib
import numbers

import torch
from torch.utils._python_dispatch import TorchDispatchMode

#: aten operators that *are* the answer to an exercise, by family (the course brief's rules).
LIBRARY_OPS = {
    "convolution": ("convolution", "conv1d", "conv2d", "conv_transpose", "_convolution",
                    "mkldnn_convolution", "slow_conv", "thnn_conv", "cudnn_convolution"),
    "pooling": ("max_pool", "avg_pool", "adaptive_max_pool", "adaptive_avg_pool",
                "fractional_max_pool", "max_unpool"),
    "padding": ("constant_pad_nd", "reflection_pad", "replication_pad", "pad"),
}


class OpRecorder(TorchDispatchMode):
    """Records the name of every aten operator that runs while it is active."""

    def __init__(self):
        super().__init__()
        self.ops = set()

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        self.ops.add(func._schema.name.split("::")[-1])
        return func(*args, **(kwargs or {}))


@contextlib.contextmanager
def numpy_recorder(ops):
    """Patches numpy's and scipy's correlate/convolve routines to record calls into ``ops``."""
    patched = []
    try:
        import numpy
        patched += [(numpy, name) for name in ("correlate", "convolve")]
        try:
            import scipy.signal
            import scipy.ndimage
            patched += [(scipy.signal, name) for name in (
                "correlate", "correlate2d", "convolve", "convolve2d", "fftconvolve", "oaconvolve")]
            patched += [(scipy.ndimage, name) for name in (
                "correlate", "convolve", "maximum_filter", "uniform_filter")]
        except ImportError:
            pass
    except ImportError:
        pass
    originals = [(module, name, getattr(module, name)) for module, name in patched]

    def recorder(module, name, original):
        def wrapper(*args, **kwargs):
            ops.add(f"{module.__name__}.{name}")
            return original(*args, **kwargs)
        return wrapper

    for module, name, original in originals:
        setattr(module, name, recorder(module, name, original))
    try:
        yield
    finally:
        for module, name, original in originals:
            setattr(module, name, original)


def trace(f, *args, **kwargs):
    """Call ``f`` here and return ``(result, ops)``: the aten operators and numpy/scipy routines
    it ran."""
    ops = set()
    with numpy_recorder(ops), OpRecorder() as recorder:
        result = f(*args, **kwargs)
    return result, ops | recorder.ops


def traced_call(f, *args, **kwargs):
    """``trace(f, *args, **kwargs)``; a remote function (the grader's proxy of a student's
    function) traces on its own side, where it runs."""
    remote = getattr(f, "__traced_call__", None)
    if remote is not None:
        return remote(*args, **kwargs)
    return trace(f, *args, **kwargs)


def expect_no_library(f, *args, families=("convolution",), name=None, **kwargs):
    """Call ``f(*args, **kwargs)`` and fail if it runs a library routine of ``families``.

    Returns the result, so the same call can be checked further.
    """
    result, ops = traced_call(f, *args, **kwargs)
    banned = tuple(op for family in families for op in LIBRARY_OPS[family])
    used = sorted(op for op in ops if op.startswith(banned) or "." in op)
    name = name or getattr(f, "__name__", "your function")
    assert not used, (
        f"{name} calls a library routine that is the answer ({', '.join(used)}): "
        "compute it yourself with loops, slicing, unfold, einsum or matmul.")
    return result


def expect_tensor(result, name="the result"):
    """Fail unless ``result`` is a real floating-point ``torch.Tensor``."""
    assert type(result) is torch.Tensor or isinstance(result, torch.nn.Parameter), (
        f"{name} should be a torch.Tensor, got {type(result).__name__}")
    assert result.is_floating_point(), (
        f"{name} should have a floating dtype (float32 or float64), got {result.dtype}")
    return result


def expect_shape(result, shape, name="the result", hint=""):
    """Fail unless ``result`` is a floating tensor of exactly ``shape``."""
    expect_tensor(result, name)
    shape = tuple(shape)
    got = tuple(result.shape)
    if got == shape:
        return result
    message = f"{name} has shape {got}, expected {shape}"
    if len(got) == len(shape) == 2 and got == shape[::-1]:
        message += " (height and width swapped?)"
    elif len(got) == len(shape) and all(abs(g - s) == 1 for g, s in zip(got, shape)
                                        if g != s):
        message += " (off by one in the output size?)"
    raise AssertionError(message + (f": {hint}" if hint else ""))


def expect_close(result, expected, name="the result", hint="", atol=1e-4, rtol=1e-4):
    """Fail unless ``result`` has ``expected``'s shape and values, with float32 tolerance."""
    expected = torch.as_tensor(expected)
    expect_shape(result, expected.shape, name, hint)
    diff = (result.detach().double() - expected.detach().double()).abs()
    tolerance = atol + rtol * expected.detach().double().abs()
    if bool((diff <= tolerance).all()):
        return result
    where = tuple(int(i) for i in torch.nonzero(diff > tolerance)[0])
    message = (f"{name} is wrong at index {where}: got {float(result.detach()[where]):.4g}, "
               f"expected {float(expected[where]):.4g}")
    raise AssertionError(message + (f": {hint}" if hint else ""))


def expect_count(result, expected, name="the result", hint=""):
    """Fail unless ``result`` is a whole number (an int or an integral float) equal to ``expected``.

    Returns None: a number left as a test cell's last value would read to nbgrader as partial
    credit.
    """
    assert isinstance(result, numbers.Real) and not isinstance(result, bool), (
        f"{name} should be a whole number (an int), got {type(result).__name__}")
    assert float(result).is_integer(), f"{name} should be a whole number, got {result}"
    if int(result) != expected:
        raise AssertionError(f"{name} is {int(result)}, expected {expected}"
                             + (f": {hint}" if hint else ""))


def expect_unchanged(f, *args, name=None, **kwargs):
    """Call ``f`` on the arguments and fail if it modified any tensor among them in place."""
    before = [a.detach().clone() if isinstance(a, torch.Tensor) else None for a in args]
    result = f(*args, **kwargs)
    name = name or getattr(f, "__name__", "your function")
    for position, (arg, copy) in enumerate(zip(args, before)):
        if copy is not None:
            assert torch.equal(arg.detach(), copy), (
                f"{name} modified its argument number {position + 1} in place: "
                "work on a copy (or build a new tensor) instead")
    return result


def expect_gradient(f, X, *rest, name=None, **kwargs):
    """Fail unless ``f(X, *rest)`` is differentiable in ``X``; return X's gradient of sum(out)."""
    name = name or getattr(f, "__name__", "your function")
    X = X.detach().clone().requires_grad_(True)
    out = f(X, *rest, **kwargs)
    assert isinstance(out, torch.Tensor) and out.requires_grad, (
        f"{name} lost the gradient: its output does not depend on X through autograd "
        "(did you use .item(), .numpy(), .detach() or build the output with torch.tensor?)")
    (out * torch.arange(1.0, out.numel() + 1).reshape(out.shape)).sum().backward()
    assert X.grad is not None, f"{name} lost the gradient with respect to its input"
    return X.grad
