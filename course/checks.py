"""Friendly checks for the chapters' test cells.

Each check raises ``AssertionError`` with a message that says what is wrong and, where a
classic mistake is the likely cause, names it: ``mistakes`` maps a hint to the value that
mistake gives, so a test says "kernel flipped?" when the answer is the flipped kernel's. The
same helpers serve the visible tests a student runs and the hidden tests that decide the grade.
Their frames are hidden from the student's traceback (``__tracebackhide__``, which IPython
honours): a failure shows the test's line and the message.
"""
import contextlib
import numbers
import traceback

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from course.rules import (ANSWER_FAMILY, LIBRARY_OPS, library_calls, library_message,  # noqa: F401
                          traced_message)

__all__ = ["LIBRARY_OPS", "traced_call", "expect_no_library", "expect_tensor", "expect_shape",
           "expect_close", "expect_count", "expect_unchanged", "expect_gradient"]


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
    __tracebackhide__ = True
    remote = getattr(f, "__traced_call__", None)
    if remote is not None:
        return remote(*args, **kwargs)
    return trace(f, *args, **kwargs)


def expect_no_library(f, *args, families=None, name=None, **kwargs):
    """Call ``f(*args, **kwargs)`` and raise ``LibraryCall`` if it runs a library routine that
    is its answer.

    ``families`` default to the answer of the graded function ``name`` (``f``'s name) in
    ``course.rules.ANSWER_FAMILY``. Returns the result, so the same call can be checked further.
    """
    __tracebackhide__ = True
    name = name or getattr(f, "__name__", "your function")
    if families is None:
        if name not in ANSWER_FAMILY:
            raise ValueError(f"expect_no_library: {name!r} is not a graded function with a "
                             "library answer (course.rules.ANSWER_FAMILY): pass families=")
        families = (ANSWER_FAMILY[name],)
    result, ops = traced_call(f, *args, **kwargs)
    used = library_calls(ops, families)
    if used:
        raise LibraryCall(traced_message(name, used, families, ", when the tests ran it"))
    return result


def expect_tensor(result, name="the result"):
    """Fail unless ``result`` is a real floating-point ``torch.Tensor``."""
    __tracebackhide__ = True
    _check(type(result) is torch.Tensor or isinstance(result, torch.nn.Parameter),
           f"{name} should be a torch.Tensor, got {type(result).__name__}")
    _check(result.is_floating_point(),
           f"{name} should have a floating dtype (float32 or float64), got {result.dtype}")
    return result


def _close(result, expected, atol=1e-4, rtol=1e-4):
    """Whether tensor ``result`` has ``expected``'s shape and values, with float32 tolerance."""
    expected = torch.as_tensor(expected).detach().double()
    if tuple(result.shape) != tuple(expected.shape):
        return False
    diff = (result.detach().double() - expected).abs()
    return bool((diff <= atol + rtol * expected.abs()).all())


def _named(mistakes, matches):
    """The hint of the first of ``mistakes`` (``{hint: value}``) whose value ``matches``."""
    return next((hint for hint, value in (mistakes or {}).items() if matches(value)), "")


def _shown(tensor):
    """A small tensor's values as nested lists of numbers, a large one's shape."""
    if tensor.numel() > 12:
        return f"a tensor of shape {tuple(tensor.shape)}"
    def text(values):
        return f"[{', '.join(map(text, values))}]" if isinstance(values, list) else f"{values:.4g}"
    return text(tensor.detach().double().tolist())


class CheckFailed(AssertionError):
    """A failed check. IPython shows its message first (where nbgrader's Validate dialog shows
    the error under the test's source, the hint is the error's first line), then the test's
    line, without the checks' own frames."""

    def _render_traceback_(self):
        frames = [(frame, line) for frame, line in traceback.walk_tb(self.__traceback__)
                  if not frame.f_locals.get("__tracebackhide__")]
        shown = traceback.StackSummary.extract(frames)
        return [f"AssertionError: {self}", "",
                "Traceback (most recent call last):", *"".join(shown.format()).splitlines()]


class LibraryCall(CheckFailed):
    """A graded function ran the library routine that is its answer (found by the trace): the
    grader flags the row, as it does when its code check finds the call."""


def _fail(message, hint=""):
    """Fail with ``message``, led by the ``hint`` if any ("kernel flipped? ... — corr2d(X, K)
    is ..., expected ...")."""
    __tracebackhide__ = True
    raise CheckFailed(f"{hint} — {message}" if hint else message)


def _check(condition, message):
    __tracebackhide__ = True
    if not condition:
        _fail(message)


def expect_shape(result, shape, name="the result", hint="", mistakes=None):
    """Fail unless ``result`` is a floating tensor of exactly ``shape``.

    ``mistakes`` maps a hint to the shape a classic mistake gives.
    """
    __tracebackhide__ = True
    expect_tensor(result, name)
    shape = tuple(shape)
    got = tuple(result.shape)
    if got == shape:
        return result
    message = f"{name} has shape {got}, expected {shape}"
    named = _named(mistakes, lambda value: tuple(value) == got)
    if named:
        _fail(message, named)
    if len(got) == len(shape) == 2 and got == shape[::-1]:
        hint = " ".join(filter(None, ["height and width swapped?", hint]))
    elif len(got) == len(shape) and all(abs(g - s) == 1 for g, s in zip(got, shape)
                                        if g != s):
        hint = " ".join(filter(None, ["off by one in the output size?", hint]))
    _fail(message, hint)


def expect_close(result, expected, name="the result", hint="", atol=1e-4, rtol=1e-4,
                 mistakes=None):
    """Fail unless ``result`` has ``expected``'s shape and values, with float32 tolerance.

    ``mistakes`` maps a hint to the tensor a classic mistake gives (any shape).
    """
    __tracebackhide__ = True
    expected = torch.as_tensor(expected)
    expect_tensor(result, name)
    named = "" if _close(result, expected, atol, rtol) else _named(
        mistakes, lambda value: _close(result, value, atol, rtol))
    if named:
        _fail(f"{name} is {_shown(result)}, expected {_shown(expected)}", named)
    expect_shape(result, expected.shape, name, hint)
    if _close(result, expected, atol, rtol):
        return result
    diff = (result.detach().double() - expected.detach().double()).abs()
    tolerance = atol + rtol * expected.detach().double().abs()
    where = tuple(int(i) for i in torch.nonzero(diff > tolerance)[0])
    _fail(f"{name} is wrong at index {where}: got {float(result.detach()[where]):.4g}, "
          f"expected {float(expected[where]):.4g}", hint)


def expect_count(result, expected, name="the result", hint="", mistakes=None):
    """Fail unless ``result`` is a whole number (an int or an integral float) equal to ``expected``.

    ``mistakes`` maps a hint to the number a classic mistake gives. Returns None: a number left
    as a test cell's last value would read to nbgrader as partial credit.
    """
    __tracebackhide__ = True
    _check(isinstance(result, numbers.Real) and not isinstance(result, bool),
           f"{name} should be a whole number (an int), got {type(result).__name__}")
    _check(float(result).is_integer(), f"{name} should be a whole number, got {result}")
    if int(result) != expected:
        _fail(f"{name} is {int(result)}, expected {expected}",
              _named(mistakes, lambda value: value == int(result)) or hint)


def expect_unchanged(f, *args, name=None, **kwargs):
    """Call ``f`` on the arguments and fail if it modified any tensor among them in place."""
    __tracebackhide__ = True
    before = [a.detach().clone() if isinstance(a, torch.Tensor) else None for a in args]
    result = f(*args, **kwargs)
    name = name or getattr(f, "__name__", "your function")
    for position, (arg, copy) in enumerate(zip(args, before)):
        if copy is not None:
            _check(torch.equal(arg.detach(), copy),
                   f"{name} modified its argument number {position + 1} in place: "
                   "work on a copy (or build a new tensor) instead")
    return result


def expect_gradient(f, X, *rest, name=None, **kwargs):
    """Fail unless ``f(X, *rest)`` is differentiable in ``X``; return X's gradient of sum(out)."""
    __tracebackhide__ = True
    name = name or getattr(f, "__name__", "your function")
    X = X.detach().clone().requires_grad_(True)
    out = f(X, *rest, **kwargs)
    _check(isinstance(out, torch.Tensor) and out.requires_grad,
           f"{name} lost the gradient: its output does not depend on X through autograd "
           "(did you use .item(), .numpy(), .detach() or build the output with torch.tensor?)")
    (out * torch.arange(1.0, out.numel() + 1).reshape(out.shape)).sum().backward()
    _check(X.grad is not None, f"{name} lost the gradient with respect to its input")
    return X.grad
