"""The wire between the trusted grader and a sandboxed student process.

A message is a JSON header (a dict) plus an optional binary blob, framed by two 32-bit
lengths. Blobs carry values as ``torch.save`` bytes. Everything the grader reads from the
sandbox is untrusted: sizes are capped and values are rebuilt by :func:`load_value` from
``torch.load(weights_only=True)`` into plain tensors, numbers, strings and containers.
"""
import enum
import io
import json
import socket
import struct
import time

import torch

FRAME = struct.Struct("!II")
MAX_HEADER = 4 << 20          # bytes of JSON in one message
MAX_BLOB = 64 << 20           # bytes of torch.save data in one message
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
    FATAL = "fatal"        # sandbox -> grader: the sandbox could not be set up
    SERVE = "serve"        # grader -> sandbox: fork a server on this socket
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
        else:
            sock.sendall(payload)
        if blob:
            sock.sendall(blob)
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


def dump_value(value):
    """``value`` (tensors, numbers, strings, None, lists, tuples, dicts) as torch.save bytes."""
    buffer = io.BytesIO()
    torch.save(value, buffer)
    return buffer.getvalue()


def load_value(blob):
    """Rebuild an untrusted torch.save blob into fresh plain values.

    Only genuine ``torch.Tensor``/``nn.Parameter`` (dense, CPU, real dtype, at most
    ``MAX_NUMEL`` elements, copied so no odd strides survive), bool/int/float/str/None and
    lists, tuples, dicts of them come back; anything else raises ``ProtocolError``.
    """
    try:
        value = torch.load(io.BytesIO(blob), weights_only=True, map_location="cpu")
    except Exception as error:  # noqa: BLE001 (any failure of untrusted bytes is one error)
        raise ProtocolError(f"cannot load the returned value: {type(error).__name__}") from None
    budget = [MAX_ITEMS]
    return _rebuild(value, 0, budget)


def _rebuild(value, depth, budget):
    budget[0] -= 1
    if budget[0] < 0 or depth > MAX_DEPTH:
        raise ProtocolError("returned structure is too large or too deep")
    kind = type(value)
    if value is None or kind in (bool, int, float, str):
        if kind is int and value.bit_length() > 4096:
            raise ProtocolError("returned integer is too large")
        return value
    if kind in (torch.Tensor, torch.nn.Parameter):
        if value.layout != torch.strided or value.device.type != "cpu":
            raise ProtocolError("returned tensor is not a dense CPU tensor")
        if value.dtype not in SAFE_DTYPES:
            raise ProtocolError(f"returned tensor has an unsupported dtype {value.dtype}")
        if value.numel() > MAX_NUMEL:
            raise ProtocolError(f"returned tensor is too large ({value.numel()} elements)")
        clean = torch.empty(tuple(value.shape), dtype=value.dtype)
        clean.copy_(value.detach())
        if kind is torch.nn.Parameter:
            return torch.nn.Parameter(clean, requires_grad=value.requires_grad)
        return clean
    if kind is torch.Size:
        return tuple(int(size) for size in value)
    if kind in (list, tuple):
        items = [_rebuild(item, depth + 1, budget) for item in value]
        return items if kind is list else tuple(items)
    if kind is dict or isinstance(value, dict):
        return {_rebuild(k, depth + 1, budget): _rebuild(v, depth + 1, budget)
                for k, v in value.items()}
    raise ProtocolError(f"returned value of type {kind.__name__} is not allowed")
