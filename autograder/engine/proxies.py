"""The proxies the hidden tests call: the student's functions and objects, in the sandbox.

The hidden tests run in the worker, never in the sandbox, in a namespace where each graded
name is a proxy: :class:`RemoteFunction` sends the arguments (``wire.dump_value``) over a
:class:`Channel` to a fork of the student's process as it is at the test cell and rebuilds
the answer with ``autograder.engine.wire.load_value``, so only genuine tensors and plain values reach the test.
Objects (a ``Conv2D`` layer) stay in the sandbox behind a :class:`StudentObject` handle whose
parameters are mirrored here, so tests can read, set and differentiate them.
"""
import builtins
import itertools
import time

import torch

from autograder.engine import wire
from autograder.engine.wire import Op


class StudentCrashed(BaseException):
    """The student's process died while serving a test (a BaseException: tests cannot catch it)."""


class StudentTimeout(BaseException):
    """The student's code used up the test cell's time."""


class Channel:
    """The checker's line to one server process (a fork of the student's process at a test cell):
    ``peer`` its :class:`wire.Peer`, ``stop()`` kills it (and its sandbox) on a timeout."""

    def __init__(self, sock, budget, peer, stop):
        self.sock, self.budget, self.peer, self.stop = sock, budget, peer, stop
        self.counter = itertools.count(1)
        self.broken = False

    def request(self, header, blob=b""):
        """Send one request, wait for its reply; the wait counts against ``budget`` (seconds
        of the student's time left for this test cell; the checker's own work is free)."""
        if self.broken:
            raise StudentCrashed("the student's process is gone")
        began = time.monotonic()
        deadline = began + self.budget
        try:
            wire.send(self.sock, header, blob, deadline=deadline)
            return wire.recv(self.sock, deadline=deadline, peer=self.peer)
        except wire.Timeout:
            self.broken = True
            self.stop()
            raise StudentTimeout() from None
        except (OSError, wire.Closed, wire.ProtocolError) as error:
            self.broken = True
            self.sock.close()
            raise StudentCrashed(str(error)) from None
        finally:
            self.budget -= time.monotonic() - began

    def call(self, target, args, kwargs, *, trace=False, owner=None):
        """Call the student's ``target`` on ``args``; ``(result, ops)``."""
        mirrors = owner.mirrors if owner is not None else {}
        grad_inputs = [a for a in list(args) + list(kwargs.values())
                       if isinstance(a, torch.Tensor) and a.requires_grad]
        grad_inputs += [m for m in mirrors.values() if m.requires_grad]
        call = next(self.counter)
        blob = wire.dump_value((_encode(args), _encode(kwargs),
                                {name: m.detach().clone().requires_grad_(m.requires_grad)
                                 for name, m in mirrors.items()}))
        header, data = self.request({"op": Op.CALL, "target": target, "call": call,
                                     "trace": trace}, blob)
        result, extra = self.answer(header, data)
        after, after_kw = extra if isinstance(extra, tuple) and len(extra) == 2 else ([], {})
        _copy_back(args, after)
        _copy_back(kwargs, after_kw)
        if header.get("grad") is True and grad_inputs and isinstance(result, torch.Tensor):
            result = _RemoteGrad.apply(self, call, result, *grad_inputs)
        ops = header.get("ops") if isinstance(header.get("ops"), list) else []
        return result, {op for op in ops if isinstance(op, str)}

    def answer(self, header, data):
        """The value (or :class:`StudentObject`) a reply carries, and its extra part."""
        if header.get("ok") is not True:
            raise _exception(header.get("type"), header.get("message"))
        try:
            value, extra = wire.load_value(data)
        except (wire.ProtocolError, TypeError, ValueError) as error:
            raise TypeError(f"the result could not be read back: {error}") from None
        handle = header.get("handle")
        if handle is not None:
            names = header.get("parameters") if isinstance(header.get("parameters"), list) else []
            tensors = value if isinstance(value, list) else []
            mirrors = {name: torch.nn.Parameter(t) for name, t in zip(names, tensors)
                       if isinstance(name, str) and isinstance(t, torch.Tensor)
                       and t.is_floating_point()}
            value = StudentObject(self, handle, wire.text(header.get("type"), 100), mirrors)
        return value, extra


def _encode(value):
    """Checker values ready for ``wire.dump_value``: detached tensors, handles for student objects."""
    if isinstance(value, StudentObject):
        return {"__handle__": object.__getattribute__(value, "handle")}
    if isinstance(value, torch.Tensor):
        tensor = value.detach().clone()
        return tensor.requires_grad_(value.requires_grad and value.is_floating_point())
    if isinstance(value, (list, tuple)):
        return type(value)(_encode(item) for item in value)
    if isinstance(value, dict):
        return {key: _encode(item) for key, item in value.items()}
    return value


def _copy_back(original, after):
    """Copy the student's in-place changes of tensor arguments into the checker's tensors."""
    pairs = original.items() if isinstance(original, dict) else enumerate(original)
    for key, tensor in pairs:
        try:
            new = after[key]
        except (KeyError, IndexError, TypeError):
            continue
        if isinstance(tensor, torch.Tensor) and isinstance(new, torch.Tensor):
            with torch.no_grad():
                if new.shape == tensor.shape and new.dtype == tensor.dtype:
                    if not torch.equal(new, tensor.detach()):
                        tensor.copy_(new)
                else:
                    tensor.data = new


def _exception(name, message):
    """The student's exception as the same builtin type (other types become RuntimeError)."""
    name = name if isinstance(name, str) else "Exception"
    message = wire.text(message, 2000)
    kind = getattr(builtins, name, None)
    if isinstance(kind, type) and issubclass(kind, Exception) and kind is not StopIteration:
        try:
            return kind(message)
        except Exception:  # noqa: BLE001 (builtins with other signatures)
            pass
    return RuntimeError(f"{name}: {message}")


class _RemoteGrad(torch.autograd.Function):
    """Connects a remote result to the checker's inputs; backward asks the sandbox."""

    @staticmethod
    def forward(ctx, channel, call, result, *inputs):
        ctx.channel, ctx.call = channel, call
        ctx.shapes = [(tuple(t.shape), t.dtype) for t in inputs]
        return result.clone()

    @staticmethod
    def backward(ctx, grad_output):
        header, data = ctx.channel.request({"op": Op.BACKWARD, "call": ctx.call},
                                           wire.dump_value(grad_output.detach()))
        grads, _ = ctx.channel.answer(header, data)
        if not isinstance(grads, list) or len(grads) != len(ctx.shapes):
            raise RuntimeError("the student's process returned malformed gradients")
        clean = []
        for grad, (shape, dtype) in zip(grads, ctx.shapes):
            if grad is not None and (not isinstance(grad, torch.Tensor)
                                     or tuple(grad.shape) != shape):
                raise RuntimeError("the student's process returned a gradient of the wrong shape")
            clean.append(None if grad is None else grad.to(dtype))
        return (None, None, None, *clean)


class RemoteFunction:
    """A graded function (or class) of the student, called in the sandbox."""

    def __init__(self, channel, name):
        self._channel, self.__name__, self.__qualname__ = channel, name, name

    def __call__(self, *args, **kwargs):
        return self._channel.call({"name": self.__name__}, args, kwargs)[0]

    def __traced_call__(self, *args, **kwargs):
        return self._channel.call({"name": self.__name__}, args, kwargs, trace=True)

    def __repr__(self):
        return f"<student's {self.__name__}>"


class StudentObject:
    """An object that lives in the sandbox (e.g. a ``Conv2D`` layer).

    Its parameters are mirrored here as ``nn.Parameter``s: reading ``layer.weight`` gives the
    mirror; calling the object first sends the mirrors' values, and gradients flow back into
    them. Other attributes are read from the sandbox.
    """

    def __init__(self, channel, handle, type_name, mirrors):
        object.__setattr__(self, "channel", channel)
        object.__setattr__(self, "handle", handle)
        object.__setattr__(self, "type_name", type_name)
        object.__setattr__(self, "mirrors", mirrors)

    def __getattr__(self, name):
        mirrors = object.__getattribute__(self, "mirrors")
        if name in mirrors:
            return mirrors[name]
        channel = object.__getattribute__(self, "channel")
        header, data = channel.request({"op": Op.GETATTR, "name": name,
                                        "handle": object.__getattribute__(self, "handle")})
        return channel.answer(header, data)[0]

    def __setattr__(self, name, value):
        mirrors = object.__getattribute__(self, "mirrors")
        if name in mirrors and isinstance(value, torch.Tensor):
            mirrors[name] = value if isinstance(value, torch.nn.Parameter) else \
                torch.nn.Parameter(value.detach().clone())
            return
        channel = object.__getattribute__(self, "channel")
        header, data = channel.request(
            {"op": Op.SETATTR, "name": name, "handle": object.__getattribute__(self, "handle")},
            wire.dump_value(_encode(value)))
        channel.answer(header, data)

    def __call__(self, *args, **kwargs):
        return self.__traced_call(args, kwargs, False)[0]

    def __traced_call__(self, *args, **kwargs):
        return self.__traced_call(args, kwargs, True)

    def __traced_call(self, args, kwargs, trace):
        channel = object.__getattribute__(self, "channel")
        return channel.call({"handle": object.__getattribute__(self, "handle")}, args, kwargs,
                            trace=trace, owner=self)

    def parameters(self):
        return iter(list(object.__getattribute__(self, "mirrors").values()))

    def named_parameters(self):
        return iter(list(object.__getattribute__(self, "mirrors").items()))

    def __bool__(self):
        raise TypeError(f"{self!r} has no truth value here: return a bool, a number or a tensor")

    def __repr__(self):
        return f"<student's {object.__getattribute__(self, 'type_name')} object>"
