"""The value codec between the grader and the sandbox (``autograder.engine.wire``).

Values cross as a JSON structure plus raw tensor bytes, never as a pickle: round trips keep
every value a test can send or a student can return; hostile blobs (anything a student's
process could write on the socket) raise ProtocolError and build nothing else.
"""
import io
import json
import math

import pytest
import torch

from autograder.engine import wire


def roundtrip(value, grad=False):
    return wire.load_value(wire.dump_value(value), grad=grad)


def same(a, b):
    """``a`` and ``b`` equal in value, type, dtype, shape and requires_grad, recursively."""
    assert type(a) is type(b), (a, b)
    if isinstance(a, torch.Tensor):
        assert (a.dtype, a.shape, a.requires_grad) == (b.dtype, b.shape, b.requires_grad)
        assert torch.equal(a.detach(), b.detach()) or (
            a.is_floating_point() and torch.equal(a.isnan(), b.isnan()))
    elif isinstance(a, (list, tuple)):
        assert len(a) == len(b)
        for x, y in zip(a, b):
            same(x, y)
    elif isinstance(a, dict):
        assert list(a) == list(b)
        for key in a:
            same(a[key], b[key])
    elif isinstance(a, float) and math.isnan(a):
        assert math.isnan(b)
    else:
        assert a == b


@pytest.mark.parametrize("dtype", sorted(wire.SAFE_DTYPES, key=str))
@pytest.mark.parametrize("shape", [(), (0,), (3,), (2, 3, 4), (1, 0, 5)])
def test_tensors_of_every_dtype_and_shape_round_trip(dtype, shape):
    tensor = (torch.arange(math.prod(shape)).reshape(shape) % 3).to(dtype)
    same(roundtrip(tensor), tensor)


def test_plain_values_and_containers_round_trip():
    value = {"a": [1, 2.5, None, True, "s", float("nan"), float("inf"), 2 ** 100],
             3: (torch.ones(2, 2), (), [], {}), (1, "k"): [torch.float64, torch.bool],
             "nested": [[[torch.tensor(7)]]]}
    same(roundtrip(value), value)


def test_views_and_strides_arrive_as_their_values():
    base = torch.arange(24.0).reshape(4, 6)
    for view in (base.t(), base[1:3, ::2], base.expand(2, 4, 6), base[2, 3]):
        same(roundtrip(view), view.contiguous())


def test_untrusted_side_drops_requires_grad_the_checker_keeps_it():
    tensor = torch.ones(3, requires_grad=True)
    assert roundtrip(tensor).requires_grad is False
    assert roundtrip(tensor, grad=True).requires_grad is True
    parameter = torch.nn.Parameter(torch.zeros(2))
    back = roundtrip(parameter)
    assert type(back) is torch.nn.Parameter and back.requires_grad
    frozen = roundtrip(torch.nn.Parameter(torch.zeros(2), requires_grad=False))
    assert type(frozen) is torch.nn.Parameter and not frozen.requires_grad


def test_loaded_tensors_own_fresh_writable_memory():
    blob = bytearray(wire.dump_value([torch.ones(4), torch.ones(4)]))
    first, second = wire.load_value(bytes(blob))
    first += 1
    assert torch.equal(second, torch.ones(4))
    assert first.untyped_storage().data_ptr() != second.untyped_storage().data_ptr()


def test_bool_bytes_other_than_zero_and_one_become_true():
    blob = wire.dump_value(torch.tensor([True, False, True]))
    forged = blob[:-3] + bytes([7, 0, 255])
    back = wire.load_value(forged)
    assert back.dtype is torch.bool and back.tolist() == [True, False, True]
    assert back.to(torch.uint8).tolist() == [1, 0, 1]


@pytest.mark.parametrize("value", [
    torch.zeros(2, device="meta"), torch.zeros(2, dtype=torch.complex64),
    torch.zeros(2, 2).to_sparse(), object(), {1, 2}, b"bytes", print, torch.complex64,
    torch.nn.Linear(2, 2), torch.zeros(1).expand(wire.MAX_NUMEL + 1)],
    ids=lambda value: type(value).__name__)
def test_values_that_cannot_cross_raise_type_error_naming_them(value):
    with pytest.raises(TypeError, match="cannot send"):
        wire.dump_value(value)


def blob_of(structure, data=b""):
    text = json.dumps(structure).encode()
    return wire.VALUE.pack(len(text)) + text + data


def pickled():
    buffer = io.BytesIO()
    torch.save({"x": torch.ones(2)}, buffer)
    return buffer.getvalue()


HOSTILE = {
    "empty": b"",
    "short length": b"\x00\x00",
    "length past the end": wire.VALUE.pack(1000) + b"[]",
    "not json": wire.VALUE.pack(3) + b"{{{",
    "torch.save pickle": pickled(),
    "json object": blob_of({"a": 1}),
    "unknown tag": blob_of(["os.system", "ls"]),
    "empty list": blob_of([]),
    "bad dtype": blob_of(["T", "complex64", [1], False, 8], bytes(8)),
    "object dtype": blob_of(["dtype", "object"]),
    "negative shape": blob_of(["T", "float32", [-1], False, 0]),
    "float shape": blob_of(["T", "float32", [1.5], False, 4], bytes(4)),
    "bytes short": blob_of(["T", "float32", [4], False, 16], bytes(8)),
    "nbytes lies": blob_of(["T", "float32", [4], False, 8], bytes(16)),
    "bytes left over": blob_of(["T", "float32", [1], False, 4], bytes(12)),
    "huge tensor": blob_of(["T", "uint8", [wire.MAX_NUMEL, 2], False, 2 * wire.MAX_NUMEL]),
    "too many dims": blob_of(["T", "uint8", [1] * (wire.MAX_DEPTH + 1), False, 1], bytes(1)),
    "too deep": blob_of(json.loads("[\"l\", " * 40 + "1" + "]" * 40)),
    "too many items": blob_of(["l"] + [0] * (wire.MAX_ITEMS + 1)),
    "huge integer": blob_of(["l", int("9" * 2000)]),
    "unhashable key": blob_of(["d", ["l", 1], 2]),
    "odd dict": blob_of(["d", 1]),
    "string requires_grad": blob_of(["T", "float32", [1], "yes", 4], bytes(4)),
}


@pytest.mark.parametrize("name", HOSTILE)
def test_hostile_blobs_raise_protocol_error(name):
    with pytest.raises(wire.ProtocolError):
        wire.load_value(HOSTILE[name])
