"""The server T: a fork of the student's process, paused where a test cell stands, that calls the
student's functions for the trusted checker (``autograder.engine.proxies``), one request at a
time."""
import types

from autograder.engine import wire
from autograder.engine.student.shell import message_of
from autograder.engine.wire import Op


class Server:
    """Serves the checker on ``sock``: calls, attribute access, gradients."""

    def __init__(self, namespace, sock, tracer):
        self.namespace, self.sock, self.tracer = namespace, sock, tracer
        self.handles = {}
        self.calls = {}

    def loop(self):
        wire.send(self.sock, {"op": Op.HELLO})   # the grader learns this process's pid
        while True:
            try:
                header, blob = wire.recv(self.sock)
            except (wire.Closed, wire.ProtocolError):
                return
            try:
                reply, data = self.answer(header, blob)
            except BaseException as error:  # noqa: BLE001 (student code raised: report it)
                reply, data = {"ok": False, "type": type(error).__name__,
                               "message": message_of(error)}, b""
            try:
                wire.send(self.sock, reply, data)
            except (TypeError, ValueError) as error:
                wire.send(self.sock, {"ok": False, "type": "TypeError",
                                      "message": f"cannot send the result: {error}"})

    def answer(self, header, blob):
        op = header["op"]
        if op == Op.CALL:
            return self.call(header, blob)
        if op == Op.BACKWARD:
            return self.backward(header, blob)
        if op == Op.GETATTR:
            return self.reply(getattr(self.handles[header["handle"]], header["name"]))
        if op == Op.SETATTR:
            setattr(self.handles[header["handle"]], header["name"], _load(blob))
            return self.reply(None)
        raise ValueError(f"unknown request {op!r}")

    def resolve(self, value):
        """Checker values with student objects (``{"__handle__": id}``) put back."""
        if isinstance(value, dict) and set(value) == {"__handle__"}:
            return self.handles[value["__handle__"]]
        if isinstance(value, (list, tuple)):
            return type(value)(self.resolve(item) for item in value)
        if isinstance(value, dict):
            return {key: self.resolve(item) for key, item in value.items()}
        return value

    def call(self, header, blob):
        import torch
        args, kwargs, mirrors = _load(blob)
        args, kwargs = self.resolve(args), self.resolve(kwargs)
        target = header["target"]
        if "name" in target:
            if target["name"] not in self.namespace:
                raise NameError(f"name '{target['name']}' is not defined")
            function = self.namespace[target["name"]]
        else:
            function = self.handles[target["handle"]]
        parameters = dict(function.named_parameters()) if isinstance(
            function, torch.nn.Module) else {}
        for name, value in mirrors.items():
            if name in parameters and parameters[name].shape == value.shape:
                with torch.no_grad():
                    parameters[name].copy_(value)
                parameters[name].requires_grad_(value.requires_grad)
            else:
                parameters[name] = value
        if header.get("trace"):
            result, ops = self.tracer(function, *args, **kwargs)
        else:
            result, ops = function(*args, **kwargs), ()
        inputs = [a for a in list(args) + list(kwargs.values())
                  if isinstance(a, torch.Tensor) and a.requires_grad]
        inputs += [parameters[name] for name, value in mirrors.items() if value.requires_grad]
        grad = isinstance(result, torch.Tensor) and result.requires_grad and bool(inputs)
        if grad:
            self.calls[header["call"]] = (result, inputs)
        after = [a.detach() if isinstance(a, torch.Tensor) else None for a in args]
        after_kw = {k: v.detach() for k, v in kwargs.items() if isinstance(v, torch.Tensor)}
        reply, data = self.reply(result, (after, after_kw))
        reply.update(grad=grad, ops=sorted(str(op) for op in ops)[:1000])
        return reply, data

    def backward(self, header, blob):
        import torch
        result, inputs = self.calls.pop(header["call"])
        grads = torch.autograd.grad(result, inputs, _load(blob), allow_unused=True)
        return self.reply([None if g is None else g.detach() for g in grads])

    def reply(self, value, extra=None):
        """The reply header and blob for ``value``: plain data, or a handle to the object."""
        import torch
        plain, value = _plain(value)
        if plain:
            return {"ok": True}, wire.dump_value((value, extra))
        handle = len(self.handles) + 1
        self.handles[handle] = value
        parameters = {}
        if isinstance(value, torch.nn.Module):
            parameters = {name: p.detach().requires_grad_(p.requires_grad)
                          for name, p in value.named_parameters()}
        header = {"ok": True, "handle": handle, "type": type(value).__name__,
                  "parameters": list(parameters)}
        return header, wire.dump_value(([parameters[n] for n in parameters], extra))


def _load(blob):
    """The checker's values (trusted: its tensors keep ``requires_grad``)."""
    return wire.load_value(blob, grad=True)


def _plain(value, depth=0):
    """``(True, value)`` with numpy numbers converted if ``value`` is plain data, else False."""
    import torch
    if depth > wire.MAX_DEPTH:
        return False, value
    kind = type(value)
    if value is None or kind in (bool, int, float, str):
        return True, value
    if kind in (torch.Tensor, torch.nn.Parameter):
        return True, value.detach()
    if kind is torch.Size:
        return True, tuple(value)
    if isinstance(value, types.GeneratorType):
        value = list(value)
        kind = list
    if kind in (list, tuple, dict):
        items = value.items() if kind is dict else enumerate(value)
        converted = {}
        for key, item in items:
            ok, item = _plain(item, depth + 1)
            if not ok:
                return False, value
            converted[key] = item
        if kind is dict:
            return True, converted
        return True, kind(converted[i] for i in range(len(value)))
    module = getattr(kind, "__module__", "")
    if module == "numpy" and hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
        return True, value.item()
    if module == "numpy" and hasattr(value, "shape"):
        try:
            return True, torch.as_tensor(value.copy())
        except (TypeError, ValueError, RuntimeError):
            return False, value
    return False, value
