"""The wire between the trusted grader and a sandboxed student process.

A message is a JSON header (a dict) plus an optional binary blob, framed by two 32-bit
lengths. Blobs carry values (:func:`dump_value`: a JSON structure and the tensors' raw bytes,
no pickle). Everything the grader reads from the sandbox is untrusted: sizes are capped and
:func:`load_value` rebuilds only plain tensors, numbers, strings and containers.
"""
import enum
import json
import math
import socket
import struct
import time

import torch

FRAME = struct.Struct("!II")
MAX_HEADER = 4 << 20          # bytes of JSON in one message
MAX_BLOB = 64 << 20           # bytes of a value (dump_value) in one message
MAX_NUMEL = 4_000_000         # elements of one tensor coming back from student code
MAX_ITEMS = 100_000           # values in one returned structure
MAX_DEPTH = 32
SAFE_DTYPES = {torch.float16, torch.bfloat16, torch.float32, torch.float64, torch.uint8,
               torch.int8, torch.int16, torch.int32, torch.int64, torch.bool}


class Op(enum.StrEnum):
    """A message's ``op``, named after what it asks or says (sender -> receiver)."""
    FORK = "fork"          # grader -> template: fork a sandbox on these two descriptors
    JOB = "job"            # grader -> sandbox: the submission, the cells, the limits
    START = "start"        # sandbox -> grader: a cell starts
    DONE = "done"          # sandbox -> grader: a cell's outputs
    READY = "ready"        # template, sandbox -> grader: started / every cell ran
    CHECKPOINT = "checkpoint"  # sandbox -> grader: paused where test cells stand (``at``)
    CONTINUE = "continue"  # grader -> sandbox: that position's tests are done, run on
    FATAL = "fatal"        # sandbox -> grader: the sandbox could not be set up
    SERVE = "serve"        # grader -> sandbox (at a checkpoint): fork a server on this socket
    SERVING = "serving"    # sandbox -> grader: the server is forked
    HELLO = "hello"        # server -> grader: its first words (who it is)
    CALL = "call"          # grader -> server: call a graded function or object
    BACKWARD = "backward"  # grader -> server: the gradient of an earlier call's result
    GETATTR = "getattr"    # grader -> server: read an attribute of a student object
    SETATTR = "setattr"    # grader -> server: set one


class Closed(Exception):
    """The other side is gone (its process died or closed the socket)."""


class Timeout(Exception):
    """No answer before the deadline."""


class ProtocolError(Exception):
    """The other side sent something that is not a well-formed message."""


def send(sock, header, blob=b"", fds=(), deadline=None):
    """Send one message; ``fds`` are passed along as SCM_RIGHTS.

    With a ``deadline`` (``time.monotonic()``), a peer that stops reading raises Timeout.
    """
    data = json.dumps(header).encode()
    payload = FRAME.pack(len(data), len(blob)) + data
    sock.settimeout(None if deadline is None else max(0.001, deadline - time.monotonic()))
    try:
        if fds:
            socket.send_fds(sock, [payload], list(fds))
            if blob:
                sock.sendall(blob)
        else:
            sock.sendall(payload + blob)
    except socket.timeout:
        raise Timeout() from None


CREDENTIALS = struct.Struct("iII")   # struct ucred: pid, uid, gid


class Peer:
    """The one process whose data a socket accepts (the kernel's SCM_CREDENTIALS say who sent
    each piece): ``pid`` as seen by the grader, or the first sender's if None. Data that
    other processes holding the same socket write (a student's forked children) is dropped."""

    def __init__(self, pid=None):
        self.pid = pid


def listen_for_credentials(sock):
    """Ask the kernel to attach the sender's credentials to everything ``sock`` receives."""
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_PASSCRED, 1)


def _chunk(sock, size, peer):
    if peer is None:
        return sock.recv(size)
    while True:
        data, ancillary, _, _ = sock.recvmsg(size, socket.CMSG_SPACE(CREDENTIALS.size))
        if not data:
            return data
        sender = next((CREDENTIALS.unpack(d[:CREDENTIALS.size])[0] for level, kind, d in ancillary
                       if level == socket.SOL_SOCKET and kind == socket.SCM_CREDENTIALS), None)
        if peer.pid is None:
            peer.pid = sender
        if sender == peer.pid:
            return data


def _recv_exactly(sock, size, deadline, peer=None):
    chunks, remaining = [], size
    while remaining:
        if deadline is not None:
            left = deadline - time.monotonic()
            if left <= 0:
                raise Timeout()
            sock.settimeout(left)
        else:
            sock.settimeout(None)
        try:
            chunk = _chunk(sock, min(remaining, 1 << 20), peer)
        except socket.timeout:
            raise Timeout() from None
        except OSError as error:
            raise Closed(str(error)) from None
        if not chunk:
            raise Closed("end of stream")
        chunks.append(chunk)
        remaining -= len(chunk)
    return b"".join(chunks)


def recv(sock, deadline=None, max_blob=MAX_BLOB, peer=None):
    """Receive one message as ``(header, blob)``; ``deadline`` is a ``time.monotonic()`` value,
    ``peer`` a :class:`Peer` whose data alone is read."""
    header_size, blob_size = FRAME.unpack(_recv_exactly(sock, FRAME.size, deadline, peer))
    if header_size > MAX_HEADER or blob_size > max_blob:
        raise ProtocolError(f"message too large ({header_size} + {blob_size} bytes)")
    try:
        header = json.loads(_recv_exactly(sock, header_size, deadline, peer))
    except (ValueError, RecursionError):
        raise ProtocolError("header is not JSON") from None
    if not isinstance(header, dict):
        raise ProtocolError("header is not an object")
    blob = _recv_exactly(sock, blob_size, deadline, peer) if blob_size else b""
    return header, blob


def recv_fds(sock, count):
    """Receive one message that carries ``count`` file descriptors (trusted side only)."""
    payload, fds, _, _ = socket.recv_fds(sock, 1 << 16, count)
    if not payload:
        raise Closed("end of stream")
    header_size, blob_size = FRAME.unpack(payload[:FRAME.size])
    data = payload[FRAME.size:]
    while len(data) < header_size:
        more = sock.recv(header_size - len(data))
        if not more:
            raise Closed("end of stream")
        data += more
    return json.loads(data), fds


def text(value, limit=MAX_HEADER):
    """An untrusted string field, at most ``limit`` characters ("" if it is not a string)."""
    return value[:limit] if isinstance(value, str) else ""


VALUE = struct.Struct("!I")   # a value's blob: the length of its JSON structure, the JSON, the bytes
DTYPES = {str(dtype).removeprefix("torch."): dtype for dtype in SAFE_DTYPES}
DTYPES_NAME = {dtype: name for name, dtype in DTYPES.items()}


def dump_value(value):
    """``value`` (tensors, numbers, strings, None, dtypes, lists, tuples, dicts) as a blob.

    The structure goes as JSON (lists ``["l", ...]``, tuples ``["t", ...]``, dicts
    ``["d", key, value, ...]``, tensors ``["T" or "P", dtype, shape, requires_grad, nbytes]``),
    followed by the tensors' raw bytes in order: no pickle, so reading it runs no code.
    Anything else raises TypeError.
    """
    tensors = []
    data = json.dumps(_structure(value, tensors, 0)).encode()
    return b"".join([VALUE.pack(len(data)), data, *tensors])


def _structure(value, tensors, depth):
    if depth > MAX_DEPTH:
        raise TypeError("cannot send a structure this deep")
    kind = type(value)
    if value is None or kind in (bool, int, float, str):
        return value
    if isinstance(value, torch.Tensor):
        if value.layout != torch.strided or value.device.type != "cpu" \
                or value.dtype not in SAFE_DTYPES:
            raise TypeError(f"cannot send a {value.dtype} {value.layout} tensor on "
                            f"{value.device.type}")
        if value.numel() > MAX_NUMEL:
            raise TypeError(f"cannot send a tensor of {value.numel()} elements (at most "
                            f"{MAX_NUMEL})")
        raw = value.detach().contiguous().reshape(-1).view(torch.uint8).numpy().tobytes()
        tensors.append(raw)
        return ["P" if isinstance(value, torch.nn.Parameter) else "T",
                DTYPES_NAME[value.dtype], list(value.shape), value.requires_grad, len(raw)]
    if isinstance(value, torch.dtype):
        if value not in SAFE_DTYPES:
            raise TypeError(f"cannot send the dtype {value}")
        return ["dtype", DTYPES_NAME[value]]
    if isinstance(value, (list, tuple)):
        tag = "l" if isinstance(value, list) else "t"
        return [tag, *(_structure(item, tensors, depth + 1) for item in value)]
    if isinstance(value, dict):
        flat = ["d"]
        for key, item in value.items():
            flat += [_structure(key, tensors, depth + 1), _structure(item, tensors, depth + 1)]
        return flat
    raise TypeError(f"cannot send a value of type {kind.__name__}")


def load_value(blob, grad=False):
    """Rebuild an untrusted blob of :func:`dump_value` into fresh plain values.

    Only tensors (dense, CPU, a dtype of ``SAFE_DTYPES``, at most ``MAX_NUMEL`` elements, in
    memory of their own), parameters, bool/int/float/str/None, dtypes and lists, tuples, dicts
    of them come back; anything else raises ``ProtocolError``. A tensor keeps its
    ``requires_grad`` only with ``grad`` (the trusted checker's values); parameters keep it.
    """
    if len(blob) < VALUE.size:
        raise ProtocolError("the returned value is empty")
    (size,) = VALUE.unpack_from(blob)
    if size > len(blob) - VALUE.size:
        raise ProtocolError("the returned value is cut short")
    try:
        structure = json.loads(blob[VALUE.size:VALUE.size + size])
    except (ValueError, RecursionError):
        raise ProtocolError("the returned value is not well-formed") from None
    loader = _Loader(memoryview(blob)[VALUE.size + size:], grad)
    value = loader.value(structure, 0)
    if loader.offset != len(loader.data):
        raise ProtocolError("the returned value has bytes left over")
    return value


class _Loader:
    """Walks a value's JSON structure, taking each tensor's bytes from ``data`` in turn."""

    def __init__(self, data, grad):
        self.data, self.grad = data, grad
        self.offset, self.budget = 0, MAX_ITEMS

    def value(self, node, depth):
        self.budget -= 1
        if self.budget < 0 or depth > MAX_DEPTH:
            raise ProtocolError("returned structure is too large or too deep")
        kind = type(node)
        if node is None or kind in (bool, float, str):
            return node
        if kind is int:
            if node.bit_length() > 4096:
                raise ProtocolError("returned integer is too large")
            return node
        if kind is not list or not node or node[0] not in ("l", "t", "d", "T", "P", "dtype"):
            raise ProtocolError("the returned value is not well-formed")
        tag, items = node[0], node[1:]
        if tag in ("T", "P"):
            return self.tensor(tag, items)
        if tag == "dtype":
            if len(items) != 1 or items[0] not in DTYPES:
                raise ProtocolError("returned dtype is not allowed")
            return DTYPES[items[0]]
        values = [self.value(item, depth + 1) for item in items]
        if tag == "l":
            return values
        if tag == "t":
            return tuple(values)
        if len(values) % 2:
            raise ProtocolError("the returned value is not well-formed")
        try:
            return dict(zip(values[::2], values[1::2]))
        except TypeError:
            raise ProtocolError("returned dict key is not hashable") from None

    def tensor(self, tag, items):
        if len(items) != 4:
            raise ProtocolError("the returned tensor is not well-formed")
        name, shape, requires_grad, nbytes = items
        if name not in DTYPES:
            raise ProtocolError(f"returned tensor has an unsupported dtype {str(name)[:40]!r}")
        if type(shape) is not list or len(shape) > MAX_DEPTH or not all(
                type(size) is int and 0 <= size <= MAX_NUMEL for size in shape):
            raise ProtocolError("the returned tensor's shape is not well-formed")
        if type(requires_grad) is not bool:
            raise ProtocolError("the returned tensor is not well-formed")
        dtype, numel = DTYPES[name], math.prod(shape)
        if numel > MAX_NUMEL:
            raise ProtocolError(f"returned tensor is too large ({numel} elements)")
        size = numel * dtype.itemsize
        if nbytes != size or self.offset + size > len(self.data):
            raise ProtocolError("the returned tensor's bytes do not match its shape")
        raw = bytearray(self.data[self.offset:self.offset + size])
        self.offset += size
        if not numel:
            tensor = torch.empty(shape, dtype=dtype)
        elif dtype is torch.bool:   # any byte but 0 and 1 would be an invalid bool
            tensor = torch.frombuffer(raw, dtype=torch.uint8).ne(0).reshape(shape)
        else:
            tensor = torch.frombuffer(raw, dtype=dtype).reshape(shape)
        floating = tensor.is_floating_point()
        if tag == "P":
            return torch.nn.Parameter(tensor, requires_grad=requires_grad and floating)
        return tensor.requires_grad_(requires_grad and floating and self.grad)
