"""A .zip of submissions, unpacked member by member with a running byte count.

The whole archive is refused (``UnsafeZip``) when it cannot be trusted as a whole: a path
that leaves the folder (``/abs``, ``..``), or more than ``MAX_TOTAL`` bytes actually
written (the sizes in a zip's headers can lie). One member that cannot be unpacked costs
only itself: a name longer than the file system allows, a member larger than
``MAX_MEMBER``, a damaged member; each is reported in ``Unpacked.refused`` under its path,
so that collection can say why that student's notebook is missing. A path repeated in the
archive is unpacked once per copy (the last one stays, as ``unzip`` does) and reported.
Nothing is ever held in memory whole: members are streamed in 1 MB chunks.
"""
import os
import zipfile
import zlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from autograder.intake.reader import in_words

MAX_TOTAL = 4 << 30        # bytes a zip of submissions may unpack to
MAX_MEMBER = 64 << 20      # bytes one member may unpack to (the sandbox copies 64 MB at most)
NAME_MAX = 255             # bytes in one path component (Linux file systems)
CHUNK = 1 << 20


class UnsafeZip(ValueError):
    """The archive as a whole cannot be unpacked; ``str()`` says why, in one line."""


class _TooLarge(Exception):
    pass


@dataclass
class Unpacked:
    """What ``unpack`` did: ``refused``: ``{member path: reason}`` of members not unpacked;
    ``repeated``: ``{member path: count}`` of paths the archive holds more than once."""
    refused: dict = field(default_factory=dict)
    repeated: dict = field(default_factory=dict)
    written: int = 0


def _check_path(name, archive):
    """``name``'s parts, or ``UnsafeZip`` if it would land outside the target folder."""
    path = PurePosixPath(name.replace("\\", "/"))
    if path.is_absolute() or ".." in path.parts:
        raise UnsafeZip(f"{archive} holds an unsafe path {name!r}: refusing to extract it")
    return [part for part in path.parts if part not in ("", ".")]


def unpack(archive, target, max_total=MAX_TOTAL, max_member=MAX_MEMBER):
    """Unpack the zip file ``archive`` into the folder ``target``; an ``Unpacked``.

    Raises ``UnsafeZip`` (nothing is graded from a zip that is unsafe as a whole)."""
    target, done = Path(target), Unpacked()
    try:
        with zipfile.ZipFile(archive) as handle:
            members = handle.infolist()
            parts = {member.filename: _check_path(member.filename, archive) for member in members}
            done.repeated = {name: count for name, count in
                             Counter("/".join(parts[m.filename]) for m in members
                                     if not m.is_dir()).items() if count > 1}
            declared = sum(member.file_size for member in members)
            if declared > max_total:
                raise UnsafeZip(f"{archive} unpacks to {in_words(declared)}, more than "
                                f"{in_words(max_total)}: refusing to extract it")
            for member in members:
                if parts[member.filename]:
                    _unpack_member(handle, member, parts[member.filename], target, done,
                                   max_total, max_member)
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError) as error:
        raise UnsafeZip(f"{archive} cannot be unpacked: {error}") from None
    except OSError as error:
        raise UnsafeZip(f"{archive} cannot be unpacked into {target}: "
                        f"{error.strerror or error}") from None
    return done


def _unpack_member(handle, member, parts, target, done, max_total, max_member):
    where = "/".join(parts)
    too_long = next((p for p in parts if len(os.fsencode(p)) > NAME_MAX), None)
    if too_long is not None:
        done.refused[where] = (f"a name of {len(too_long)} characters, longer than the "
                               f"{NAME_MAX} bytes a file name may have: not unpacked")
        return
    path = target.joinpath(*parts)
    if member.is_dir():
        path.mkdir(parents=True, exist_ok=True)
        return
    path.parent.mkdir(parents=True, exist_ok=True)   # the student's folder: their row says why
    if member.file_size > max_member:
        done.refused[where] = (f"unpacks to {in_words(member.file_size)}, more than the "
                               f"{in_words(max_member)} a file may have: not unpacked")
        return
    if path.is_dir() and not path.is_symlink():
        done.refused[where] = "is both a folder and a file in the zip: not unpacked"
        return
    try:
        _stream(handle, member, path, done, max_total, max_member)
    except _TooLarge:
        path.unlink()
        done.refused[where] = (f"unpacks to more than the {in_words(max_member)} a file may "
                               "have (its size in the zip is wrong): not unpacked")
    except (zipfile.BadZipFile, zlib.error, EOFError) as error:
        path.unlink(missing_ok=True)
        done.refused[where] = f"is damaged in the zip ({error}): not unpacked"


def _stream(handle, member, path, done, max_total, max_member):
    """Copy one member to ``path`` in chunks, counting what is really written."""
    written = 0
    flags = os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW | os.O_CLOEXEC
    with handle.open(member) as source, open(os.open(path, flags, 0o644), "wb") as sink:
        while chunk := source.read(CHUNK):
            written += len(chunk)
            done.written += len(chunk)
            if done.written > max_total:
                raise UnsafeZip(f"{handle.filename} unpacks to more than {in_words(max_total)} "
                                "(its sizes in the zip are wrong): refusing to extract it")
            if written > max_member:
                raise _TooLarge
            sink.write(chunk)

