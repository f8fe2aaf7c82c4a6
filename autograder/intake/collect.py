"""Collect: a folder (or .zip) of submissions -> the submissions to grade, and what cannot be.

The layout is nbgrader's ``submitted/``: ``<student_id>/<assignment>/<notebook>.ipynb`` (an
optional ``timestamp.txt`` and ``submission_secret.txt`` next to the notebooks, as nbgrader's
``submit`` and ``collect`` write them). Whatever
does not fit is reported with a reason, never fatal: a stray file, an unknown assignment folder,
a notebook with the wrong name (graded and flagged when it is the folder's only notebook) or
that cannot be read (``autograder.intake.reader``), a chapter
a student did not submit. A student or assignment folder that is a symlink is refused and
flagged (it could point into ``source/`` or at another student's work), and so is a folder
holding a hard link to an instructor's file (``intake.links``); an id
the gradebook cannot hold costs only that student.
"""
import difflib
import os
import shutil
import stat
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from autograder.intake import links, names, reader, unzip
from autograder.intake.names import Ignored

#: Files that nbgrader's own ``submit`` and ``collect`` put next to the notebooks (the
#: submission's time, and the secret its feedback is released under).
NBGRADER_FILES = ("timestamp.txt", "submission_secret.txt")
#: Clutter that archivers and editors leave behind; skipped without a word.
CLUTTER = {"__MACOSX", ".DS_Store", ".ipynb_checkpoints", "Thumbs.db"}


class SubmissionsError(ValueError):
    """SUBMISSIONS cannot be read at all (not a folder, not a zip, an unsafe zip)."""


@dataclass(frozen=True)
class Submission:
    """One student's folder of one assignment (None if there is none; the symlink itself if it
    is one), why it cannot be graded ("" if it can), and a ``flag`` for a human ("" if none);
    ``submitted``: False for a chapter not submitted (no folder at all)."""
    student_id: str
    assignment: str
    folder: Path | None
    reason: str = ""
    flag: str = ""
    submitted: bool = True


@dataclass
class Batch:
    """What collect found, as ``Submission``s: ``gradable``; ``unusable``, folders that cannot be
    graded (recorded); ``missing``, chapters not submitted and submissions whose id the
    gradebook cannot hold (reported, not recorded); ``ignored``, the stray inputs;
    ``refused``, the zip members not unpacked (``unpack``)."""
    gradable: list = field(default_factory=list)
    unusable: list = field(default_factory=list)
    missing: list = field(default_factory=list)
    ignored: Ignored = field(default_factory=Ignored)
    refused: dict = field(default_factory=dict)    # {unpacked path: why it was not unpacked}


def unpack(submissions, scratch, ignored, content=None):
    """``(folder, refused)``: the folder holding the student folders (``submissions`` itself, or
    a .zip of it unpacked into ``scratch``; a zip may wrap everything in one top folder) and
    ``{path: reason}`` of the zip members that were not unpacked (noted in ``ignored``).
    ``content(folder, refused)`` tells a lone top folder that is content, not a wrapper
    (default: a student's folder of nbgrader's layout)."""
    submissions = Path(submissions)
    if submissions.is_dir():
        return submissions, {}
    if not zipfile.is_zipfile(submissions):
        raise SubmissionsError(f"{submissions} is neither a folder nor a .zip file")
    try:
        done = unzip.unpack(submissions, scratch)
    except unzip.UnsafeZip as error:
        raise SubmissionsError(str(error)) from None
    for where, count in done.repeated.items():
        ignored.add("paths repeated in the zip", where, f"{count} copies, the last one used")
    for where, why in done.refused.items():
        ignored.add("zip members not unpacked", where, why)
    refused = {Path(scratch, where): why for where, why in done.refused.items()}
    root = Path(scratch)
    entries = [p for p in root.iterdir() if p.name not in CLUTTER]
    content = content or _looks_like_student
    while len(entries) == 1 and entries[0].is_dir() and not content(entries[0], refused):
        root = entries[0]
        entries = [p for p in root.iterdir() if p.name not in CLUTTER]
    return root, refused


def _looks_like_student(folder, refused):
    """True if ``folder`` holds an assignment folder with a notebook in it (or one that was
    in the zip but ``refused``)."""
    return any(child.is_dir() and (any(child.glob("*.ipynb")) or any(
        path.parent == child for path in refused)) for child in folder.iterdir())


def collect(folder, released, only=None, refused=None, ignored=None, instructor=(),
            scratch=None):
    """Read ``folder`` (``<student_id>/<assignment>/<notebook>.ipynb``) into a ``Batch``.

    ``released`` is ``{assignment: [notebook stems]}`` (``CourseDir.released``); ``only``
    limits the grading to these assignments; ``refused`` is ``unpack``'s, and so is ``ignored``
    (an ``Ignored`` that collect adds to); ``instructor``, the folders of files no student's
    file may be a hard link to; ``scratch``, a folder for copies of renamed notebooks
    (``_add_submission``). A chapter counts as
    missing for a student when another student submitted it, or when it was asked for by
    name in ``only``; ``missing`` holds those of every released assignment (the CSVs show
    every row of the class, whatever a run grades).
    """
    selected = list(only) if only else list(released)
    batch = Batch(refused=refused or {}, ignored=ignored if ignored is not None else Ignored())
    seen = {}  # student -> {assignment: folder}
    for entry in sorted(Path(folder).iterdir()):
        if entry.name in CLUTTER:
            continue
        if entry.is_symlink():   # refused, for each assignment it seems to hold
            seen[entry.name] = ({a: entry for a in released if (entry / a).is_dir()}
                                or dict.fromkeys(selected, entry))
        elif not entry.is_dir():
            batch.ignored.add("stray files at the top level", entry.name,
                              "expected <student_id>/<assignment>/<notebook>.ipynb")
        elif entry.name.startswith("."):
            batch.ignored.add("hidden folders", f"{entry.name}/")
        else:
            seen[entry.name] = _student_folders(entry, released, batch.ignored)
    for where, why in batch.refused.items():   # a name too long to unpack: that student only
        parts = where.relative_to(folder).parts if where.is_relative_to(folder) else ()
        if len(parts) > 1 and not (Path(folder) / parts[0]).exists() and parts[1] in released:
            seen.setdefault(parts[0], {})[parts[1]] = None
    submitted = {a for folders in seen.values() for a in folders}
    linked = links.refusals({(name, a): f for name, folders in seen.items()
                             for a, f in folders.items() if f is not None and not any(
                                 p.is_symlink() for p in (f, f.parent))}, instructor)
    for name, folders in seen.items():
        student_id = names.student_id(name)
        for assignment in released:
            if assignment in folders:
                if assignment in selected:
                    _add_submission(batch, name, assignment, folders[assignment],
                                    released[assignment], linked.get((name, assignment)),
                                    scratch)
                elif folders[assignment] is not None and not folders[assignment].is_symlink():
                    folder = folders[assignment]
                    _strays(batch, f"{name}/{assignment}", assignment, _names(folder),
                            _expected(released[assignment]))
            elif assignment in submitted or (only and assignment in selected):
                batch.missing.append(Submission(
                    student_id, assignment, None,
                    f"not submitted: no folder {names.shown(name)}/{assignment}/",
                    submitted=False))
    return batch


def _student_folders(student, released, ignored):
    """``{assignment: folder}`` of one student's folders of released assignments; what is
    not a released assignment is noted in ``ignored``."""
    folders = {}
    for entry in sorted(student.iterdir()):
        where = f"{student.name}/{entry.name}"
        if entry.name in CLUTTER:
            continue
        if entry.name in released and (entry.is_dir() or entry.is_symlink()):
            folders[entry.name] = entry
        elif not entry.is_dir():
            ignored.add("stray files in a student folder", where,
                        f"notebooks go in {names.shown(student.name)}/<assignment>/")
        elif entry.name not in released:
            guess = difflib.get_close_matches(entry.name, list(released), n=1)
            ignored.add("folders that are not a released assignment", f"{where}/",
                        f"did you mean {guess[0]}?" if guess else "")
    return folders


def _names(folder):
    """The names in ``folder``, clutter left out."""
    return {p.name for p in folder.iterdir() if p.name not in CLUTTER}


def _expected(stems):
    """The release's notebook file names of an assignment of notebook ``stems``."""
    return {f"{stem}.ipynb" for stem in stems}


def _strays(batch, where, assignment, notebooks, expected):
    """Note in ``batch.ignored`` the names among ``notebooks`` (in the folder ``where``) that
    are neither the ``expected`` notebooks of ``assignment`` nor nbgrader's files."""
    for stray in sorted(notebooks - expected - set(NBGRADER_FILES)):
        guess = difflib.get_close_matches(stray, sorted(expected), n=1, cutoff=0.4)
        batch.ignored.add(f"files that are not a notebook of {assignment}", f"{where}/{stray}",
                          f"expected {guess[0]}" if guess else "")


def _add_submission(batch, name, assignment, folder, stems, linked=None, scratch=None):
    """Add ``folder`` (``name``'s, of ``assignment``) to the gradable submissions, or to the
    unusable ones with the reason (or the missing ones, if it cannot be recorded); ``linked``,
    why it holds a hard link it may not (``intake.links``). A folder whose only notebook is
    not named as the release's is graded from a copy in ``scratch`` with that name, and flagged
    (without ``scratch``, it is unusable and the reason says what to rename)."""
    student_id = names.student_id(name)
    problem = names.id_problem(student_id)
    if problem:
        batch.missing.append(Submission(student_id, assignment, None, problem))
        return
    if folder is None:     # see ``collect``: its name was too long to unpack
        batch.missing.append(Submission(student_id, assignment, None, (
            f"the folder name is longer than the {unzip.NAME_MAX} bytes a file system allows: "
            "not unpacked")))
        return
    where = f"{name}/{assignment}"
    link = next((p for p in (folder.parent, folder) if p.is_symlink()), None)
    if link is not None:
        shown = names.shown(name if link.name == name else where)
        reason = (f"{shown}/ is a symbolic link to {names.shown(os.readlink(link))}: "
                  f"not graded as {names.shown(name)}'s work")
        batch.unusable.append(Submission(student_id, assignment, link, reason, flag=reason))
        return
    if linked:
        batch.unusable.append(Submission(student_id, assignment, folder, linked, flag=linked))
        return
    notebooks, expected = _names(folder), _expected(stems)
    renamed = _renamed(folder, notebooks, expected)
    if renamed and scratch is not None:
        (original, notebook), = renamed.items()
        folder = _as_released(folder, original, notebook, scratch)
        flag = (f"renamed: {names.shown(original)} graded as {notebook} (the only notebook in "
                f"{names.shown(where)}/)")
        notebooks = notebooks - {original} | {notebook}
    else:
        flag = ""
    _strays(batch, where, assignment, notebooks, expected)
    reasons = []
    for notebook in sorted(expected):
        if notebook not in notebooks:
            candidates = sorted(_candidates(notebooks, expected))
            strays = candidates or sorted(notebooks - expected - set(NBGRADER_FILES))
            listed = candidates if candidates else strays[:3]
            found = (f"; found {', '.join(names.shown(s) for s in listed)}: "
                     f"{'keep one and name it' if len(candidates) > 1 else 'rename it to'} "
                     f"{notebook}" if strays else "")
            why = batch.refused.get(folder / notebook)
            reasons.append(f"{notebook} {why}" if why else f"{notebook} is missing{found}")
        else:
            try:
                reader.read_notebook(folder / notebook)
            except reader.Unreadable as error:
                reasons.append(str(error))
    if reasons:
        batch.unusable.append(Submission(student_id, assignment, folder, "; ".join(reasons)))
    else:
        batch.gradable.append(Submission(student_id, assignment, folder, flag=flag))


def _candidates(notebooks, expected):
    """The file names among ``notebooks`` that look like a notebook saved under another name
    (``locality (1).ipynb``, ``Locality.IPYNB``, ``locality.ipynb.json`` as some browsers save
    it) and are not one of the ``expected`` names."""
    return {name for name in notebooks - expected if names.is_notebook_name(name)}


def _renamed(folder, notebooks, expected):
    """``{file name: expected name}`` when exactly one expected notebook is missing from
    ``folder`` and exactly one candidate (``_candidates``) can be it, a regular file (never
    what a symlink points to); else ``{}``."""
    absent, candidates = expected - notebooks, _candidates(notebooks, expected)
    if len(absent) == 1 and len(candidates) == 1:
        name = candidates.pop()
        if stat.S_ISREG(os.lstat(folder / name).st_mode):
            return {name: absent.pop()}
    return {}


def _as_released(folder, original, notebook, scratch):
    """A copy of ``folder`` in ``scratch`` (the files the sandbox would copy: regular files,
    within its limits) with the file ``original`` named ``notebook``; the submission itself
    is never changed."""
    from autograder.engine.sandbox import copied_files
    copy = Path(tempfile.mkdtemp(prefix="renamed-", dir=scratch))
    files, _ = copied_files(folder)
    for name in files:
        target = copy / (notebook if Path(name) == Path(original) else name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(folder / name, target, follow_symlinks=False)
    return copy
