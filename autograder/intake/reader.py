"""One reader for every submission file: ``read_notebook(path) -> dict`` or ``Unreadable``.

A submission is student data on the instructor's disk: the file may be a FIFO (opening it
would wait forever), a device or a symlink to one (``/dev/zero`` never ends), a symlink to
the course's ``source/`` (the answer key), gigabytes, JSON nested a hundred thousand levels
deep, or a notebook saved as UTF-16 or in nbformat 3. Here a file is opened without
following a symlink and without blocking, checked with ``fstat`` to be a regular file, read
with a bounded read, decoded (BOMs and UTF-16/32 detected as ``json`` does), parsed with a
nesting limit, and converted to nbformat 4. Every refusal is an ``Unreadable`` whose message
is one line naming the file.
"""
import hashlib
import json
import os
import re
import stat
from pathlib import Path

import nbformat
from nbformat.v3.rwbase import rejoin_lines as rejoin_v3_lines

MAX_NOTEBOOK_BYTES = 32 << 20
#: Deepest nesting of JSON arrays and objects accepted (a real notebook is about 8 deep).
MAX_DEPTH = 100
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_OPENING = list(b"[{")


class Unreadable(ValueError):
    """A submission file that cannot be used; ``str()`` is a one-line reason naming it."""


def _kind(mode):
    """What a non-regular file is, in words."""
    for test, name in ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe (FIFO)"),
                       (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"),
                       (stat.S_ISSOCK, "a socket")):
        if test(mode):
            return name
    return "not a regular file"


def link_target(path):
    """Where the symlink ``path`` points, as stored in the link (shown, never followed)."""
    try:
        return os.fsdecode(os.readlink(path))
    except OSError:
        return "?"


def read_bytes(path, limit=MAX_NOTEBOOK_BYTES):
    """The bytes of the regular file ``path`` (at most ``limit``); ``Unreadable`` otherwise.

    A symlink is refused (it could point at the source notebook or at ``/dev/zero``), and so
    is a FIFO, a device or a socket, without ever blocking on it."""
    path = Path(path)
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except FileNotFoundError:
        raise Unreadable(f"{path.name} is missing") from None
    except OSError as error:
        if os.path.islink(path):
            raise Unreadable(f"{path.name} is a symbolic link (to {link_target(path)}), "
                             "not a notebook") from None
        raise Unreadable(f"{path.name} cannot be read: {error.strerror}") from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise Unreadable(f"{path.name} is {_kind(info.st_mode)}, not a notebook file")
        if info.st_size > limit:
            raise Unreadable(f"{path.name} is {in_words(info.st_size)}, larger than the "
                             f"{in_words(limit)} a notebook may be")
        os.set_blocking(fd, True)
        with os.fdopen(fd, "rb", closefd=False) as file:
            data = file.read(limit + 1)    # the file may grow after fstat
    except OSError as error:
        raise Unreadable(f"{path.name} cannot be read: {error.strerror}") from None
    finally:
        os.close(fd)
    if len(data) > limit:
        raise Unreadable(f"{path.name} is larger than the {in_words(limit)} a notebook may be")
    return data


def in_words(count):
    """``count`` bytes in words: '3.9 GB', '32 MB', '512 bytes'."""
    for unit, shift in (("GB", 30), ("MB", 20), ("KB", 10)):
        if count >= 1 << shift:
            return f"{count / (1 << shift):.3g} {unit}"
    return f"{count} bytes"


def decode(data, name):
    """``data`` as text: UTF-8 (with or without a BOM), UTF-16 or UTF-32 (with a BOM, or
    told apart by their zero bytes, as ``json`` does); otherwise ``Unreadable`` naming the
    encoding the file seems to be in."""
    encoding = json.detect_encoding(data)
    try:
        return data.decode(encoding)
    except UnicodeDecodeError as error:
        guess = _guess_encoding(data)
        seems = f" (it looks like {guess})" if guess else ""
        raise Unreadable(f"{name} is not {encoding.upper().removesuffix('-SIG')} text{seems}: "
                         f"byte {error.start} is 0x{data[error.start]:02x}; open it in "
                         "Jupyter and save it again") from None


def _guess_encoding(data):
    from charset_normalizer import from_bytes
    best = from_bytes(data[:1 << 16]).best()
    return best.encoding if best is not None else None


def depth(text):
    """How deeply JSON arrays and objects nest in ``text``, strings skipped."""
    import numpy
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text)).encode()
    if not brackets:
        return 0
    steps = numpy.where(numpy.isin(numpy.frombuffer(brackets, numpy.uint8), _OPENING), 1, -1)
    return int(numpy.cumsum(steps, dtype=numpy.int64).max())


def parse_json(text, name, max_depth=MAX_DEPTH):
    """``text`` parsed as JSON, refused past ``max_depth`` levels of nesting (a deeply nested
    file would exhaust the parser's recursion)."""
    nesting = depth(text)
    if nesting > max_depth:
        raise Unreadable(f"{name} is not a notebook: its JSON nests {nesting} levels deep "
                         f"(at most {max_depth})")
    try:
        return json.loads(text)
    except RecursionError:
        raise Unreadable(f"{name} is not a notebook: its JSON nests too deeply") from None
    except json.JSONDecodeError as error:
        raise Unreadable(f"{name} is not a valid notebook (not JSON: "
                         f"{str(error).splitlines()[0]}{_in_cell(text, error.pos)}); it was "
                         "damaged after Jupyter saved it: ask the student for the file again "
                         "or mend it there in a text editor") from None
    except ValueError as error:
        raise Unreadable(f"{name} is not a valid notebook (not JSON: "
                         f"{str(error).splitlines()[0]})") from None


def _in_cell(text, position):
    """``', in cell N'``: the cell whose text holds ``position`` of a notebook's JSON (cells
    counted by their ``"cell_type"`` keys), or ``''`` before the first cell."""
    cells = text.count('"cell_type"', 0, position)
    return f", in cell {cells}" if cells else ""


def as_v4(notebook, name):
    """The parsed ``notebook`` as an nbformat 4 dict (nbformat 3 is converted)."""
    if not isinstance(notebook, dict):
        raise Unreadable(f"{name} is not a Jupyter notebook (its JSON is not an object)")
    version = notebook.get("nbformat")
    if version == 3 and isinstance(notebook.get("worksheets"), list):
        try:
            notebook = nbformat.convert(rejoin_v3_lines(nbformat.from_dict(notebook)), 4)
        except Exception as error:  # noqa: BLE001 (nbformat's converter on a broken v3 file)
            raise Unreadable(f"{name} is an nbformat 3 notebook that cannot be converted: "
                             f"{type(error).__name__}") from None
    elif version != 4:
        shown = "no nbformat version" if version is None else f"nbformat {version!r}"
        raise Unreadable(f"{name} is not an nbformat 4 notebook ({shown}): open it in "
                         "Jupyter and save it again")
    if not isinstance(notebook.get("cells"), list):
        raise Unreadable(f"{name} is not a Jupyter notebook (no list of cells)")
    return notebook


def read_notebook(path, limit=MAX_NOTEBOOK_BYTES):
    """The notebook at ``path`` as an nbformat 4 dict; ``Unreadable`` with a one-line reason."""
    name = Path(path).name
    return as_v4(parse_json(decode(read_bytes(path, limit), name), name), name)


#: Files larger than this are fingerprinted by size and time, not read (nothing grades them).
MAX_DIGESTED_BYTES = 64 << 20


def digest(*folders):
    """sha256 of what is under ``folders``: each path, the contents of each regular file
    (streamed), the target of each symlink (never followed; a folder that is a symlink counts
    as its target's name), the kind of anything else (a FIFO is never opened)."""
    total = hashlib.sha256()
    for folder in folders:
        if os.path.islink(folder):
            total.update(b"link\0" + os.fsencode(os.readlink(folder)))
            continue
        for directory, subfolders, files in os.walk(folder):
            subfolders.sort()
            for name in sorted(subfolders + files):
                path = os.path.join(directory, name)
                if name == "__pycache__" or (name in subfolders and not os.path.islink(path)):
                    continue
                total.update(os.fsencode(os.path.relpath(path, folder)) + b"\0")
                total.update(_fingerprint(path))
    return total.hexdigest()


def _fingerprint(path):
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        return b"link\0" + os.fsencode(os.readlink(path))
    if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_DIGESTED_BYTES:
        return f"{stat.S_IFMT(info.st_mode)}:{info.st_size}:{info.st_mtime_ns}".encode()
    with open(path, "rb") as file:
        return hashlib.file_digest(file, "sha256").digest()
