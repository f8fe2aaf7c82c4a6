"""Collect: a folder (or .zip) of submissions -> the submissions to grade, and what cannot be.

The layout is nbgrader's ``submitted/``: ``<student_id>/<assignment>/<notebook>.ipynb`` (an
optional ``timestamp.txt`` next to the notebooks, as ``nbgrader collect`` writes it). Whatever
does not fit is reported with a reason, never fatal: a stray file, an unknown assignment folder,
a notebook with the wrong name or that is not valid JSON, a chapter a student did not submit.
"""
import difflib
import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

#: Files that nbgrader's own ``collect`` puts next to the notebooks.
NBGRADER_FILES = {"timestamp.txt"}
#: Clutter that archivers and editors leave behind; skipped without a word.
CLUTTER = {"__MACOSX", ".DS_Store", ".ipynb_checkpoints", "Thumbs.db"}


#: Largest total size a .zip of submissions may unpack to.
MAX_UNZIPPED = 4 << 30


class SubmissionsError(ValueError):
    """SUBMISSIONS cannot be read at all (not a folder, not a zip, an unsafe zip)."""


@dataclass(frozen=True)
class Submission:
    """One student's folder of one assignment (None if not submitted), and why it cannot be
    graded ("" if it can)."""
    student_id: str
    assignment: str
    folder: Path | None
    reason: str = ""


@dataclass
class Batch:
    """What collect found, as ``Submission``s: ``gradable``; ``unusable``, folders that cannot be
    graded; ``missing``, chapters not submitted; and ``problems``, one line per stray input;
    ``students``, every student seen."""
    gradable: list = field(default_factory=list)
    unusable: list = field(default_factory=list)
    missing: list = field(default_factory=list)
    problems: list = field(default_factory=list)
    students: list = field(default_factory=list)


def unpack(submissions, scratch):
    """The folder holding the student folders: ``submissions`` itself, or a .zip of it
    extracted into ``scratch``. A zip may wrap everything in one top folder (``submitted/``)."""
    submissions = Path(submissions)
    if submissions.is_dir():
        return submissions
    if not zipfile.is_zipfile(submissions):
        raise SubmissionsError(f"{submissions} is neither a folder nor a .zip file")
    try:
        with zipfile.ZipFile(submissions) as archive:
            members = archive.infolist()
            for member in members:
                if member.filename.startswith("/") or ".." in PurePosixPath(member.filename).parts:
                    raise SubmissionsError(f"{submissions} holds an unsafe path "
                                           f"{member.filename!r}: refusing to extract it")
            if sum(member.file_size for member in members) > MAX_UNZIPPED:
                raise SubmissionsError(f"{submissions} unpacks to more than "
                                       f"{MAX_UNZIPPED >> 30} GiB: refusing to extract it")
            archive.extractall(scratch)
    except (zipfile.BadZipFile, OSError) as error:
        raise SubmissionsError(f"{submissions} cannot be unpacked: {error}") from None
    root = Path(scratch)
    entries = [p for p in root.iterdir() if p.name not in CLUTTER]
    while len(entries) == 1 and entries[0].is_dir() and not _looks_like_student(entries[0]):
        root = entries[0]
        entries = [p for p in root.iterdir() if p.name not in CLUTTER]
    return root


def _looks_like_student(folder):
    """True if ``folder`` holds an assignment folder with a notebook in it."""
    return any(child.is_dir() and any(child.glob("*.ipynb")) for child in folder.iterdir())


def collect(folder, released, only=None):
    """Read ``folder`` (``<student_id>/<assignment>/<notebook>.ipynb``) into a ``Batch``.

    ``released`` is ``{assignment: [notebook stems]}`` (``CourseDir.released``); ``only``
    limits the grading to these assignments. A chapter counts as missing for a student when
    another student submitted it, or when it was asked for by name in ``only``.
    """
    selected = list(only) if only else list(released)
    batch = Batch()
    seen = {}  # student -> {assignment: folder}
    for entry in sorted(Path(folder).iterdir()):
        if entry.name in CLUTTER:
            continue
        if not entry.is_dir():
            batch.problems.append(f"{entry.name}: stray file at the top level, ignored "
                                  "(expected <student_id>/<assignment>/<notebook>.ipynb)")
        elif entry.name.startswith("."):
            batch.problems.append(f"{entry.name}/: hidden folder, ignored")
        else:
            seen[entry.name] = _student_folders(entry, released, selected, batch.problems)
    batch.students = sorted(seen)
    submitted = {a for folders in seen.values() for a in folders}
    for student_id, folders in seen.items():
        for assignment in selected:
            if assignment in folders:
                _add_submission(batch, student_id, assignment, folders[assignment],
                                released[assignment])
            elif assignment in submitted or only:
                batch.missing.append(Submission(
                    student_id, assignment, None,
                    f"not submitted: no folder {student_id}/{assignment}/"))
    return batch


def _student_folders(student, released, selected, problems):
    """``{assignment: folder}`` of one student's folders of ``selected`` assignments; what is
    not a released assignment is reported."""
    folders = {}
    for entry in sorted(student.iterdir()):
        where = f"{student.name}/{entry.name}"
        if entry.name in CLUTTER:
            continue
        if not entry.is_dir():
            problems.append(f"{where}: stray file, ignored (notebooks go in "
                            f"{student.name}/<assignment>/)")
        elif entry.name in selected:
            folders[entry.name] = entry
        elif entry.name not in released:
            guess = difflib.get_close_matches(entry.name, list(released), n=1)
            hint = f" (did you mean {guess[0]}?)" if guess else ""
            problems.append(f"{where}/: not a released assignment{hint}, ignored")
    return folders


def _add_submission(batch, student_id, assignment, folder, stems):
    """Add ``folder`` to the gradable submissions, or to the unusable ones with the reason."""
    where = f"{student_id}/{assignment}"
    notebooks = {p.name for p in folder.iterdir() if p.name not in CLUTTER}
    expected = {f"{stem}.ipynb" for stem in stems}
    for name in sorted(notebooks - expected - NBGRADER_FILES):
        guess = difflib.get_close_matches(name, sorted(expected), n=1, cutoff=0.4)
        hint = f" (expected {guess[0]})" if guess else ""
        batch.problems.append(f"{where}/{name}: not a notebook of {assignment}{hint}, ignored")
    reasons = []
    for name in sorted(expected):
        if name not in notebooks:
            strays = sorted(notebooks - expected - NBGRADER_FILES)
            found = f"; found {', '.join(strays)}: rename it to {name}" if strays else ""
            reasons.append(f"{name} is missing{found}")
        else:
            reason = _unreadable(folder / name)
            if reason:
                reasons.append(f"{name} {reason}")
    if reasons:
        batch.unusable.append(Submission(student_id, assignment, folder, "; ".join(reasons)))
    else:
        batch.gradable.append(Submission(student_id, assignment, folder))


def _unreadable(path):
    """Why the notebook at ``path`` cannot be read, or None if it is a JSON notebook."""
    try:
        nb = json.loads(path.read_bytes())
    except (OSError, ValueError) as error:
        return f"is not a valid notebook (not JSON: {str(error).splitlines()[0]})"
    if not isinstance(nb, dict) or not isinstance(nb.get("cells"), list):
        return "is not a Jupyter notebook (no list of cells)"
    return None
