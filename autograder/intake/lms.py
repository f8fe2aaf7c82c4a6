"""``autograde import``: an LMS's download of one assignment -> nbgrader's ``submitted/`` layout.

    autograde import --lms canvas|moodle DOWNLOAD --assignment NAME --roster ROSTER.csv
                     --into SUBMITTED [--due "2026-12-01 23:59 UTC"]

DOWNLOAD is the LMS's zip (unpacked safely, ``intake.unzip``) or the folder it was unpacked to.
Each notebook goes to ``SUBMITTED/<student_id>/<NAME>/<its file name>``; the LMS's ids become
nbgrader's through the roster that ``autograde export`` reads (``student_id`` plus the LMS's own
columns). The names, as each LMS writes them (see docs/lms.md for where this is documented):

- Canvas, "Download Submissions" (``lib/content_zipper.rb``): flat files
  ``<name>[_LATE]_<user id>_<file id>_<original name>`` (``late`` in older downloads), matched
  on the roster's ``ID``; ``anon_<id>`` under anonymous grading cannot be matched.
- Moodle, "Download all submissions" (``mod/assign/locallib.php``): folders
  ``<Full Name>_<participant id>_assignsubmission_file_/<original name>`` (or, without
  folders, files ``<Full Name>_<participant id>_assignsubmission_file_<original name>``),
  matched on the roster's ``Identifier`` ("Participant N"), else its ``Full name``.

Times go to ``timestamp.txt`` (as ``nbgrader collect`` writes it) so the late policy applies:
Moodle's from the roster's ``Last modified (submission)`` column (its grading worksheet); a
Canvas file marked late, which carries no time, one second after ``--due`` (the least late it
can be). A file that cannot be placed (no roster match, a student's second notebook, not a
notebook) is listed by name with the reason; nothing is dropped silently.
"""
import argparse
import datetime
import re
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path, PurePosixPath

from autograder.intake import names
from autograder.intake.names import Ignored

CANVAS = re.compile(r"(?P<name>.*?)_(?:(?P<late>late)_)?(?P<user>\d+)_(?P<file>\d+)_(?P<original>.+)",
                    re.IGNORECASE)
CANVAS_ANONYMOUS = re.compile(r"(?:late_)?anon_\w+?_\d+_.+", re.IGNORECASE)
MOODLE = re.compile(r"(?P<name>[^_]+)_(?P<participant>\d+)_assignsubmission_(?P<plugin>[a-z]+)_"
                    r"(?P<original>.*)")
#: The grading worksheet's submission time column (Moodle's "Download grading worksheet").
MOODLE_SUBMITTED = "Last modified (submission)"
CLUTTER = {"__MACOSX", ".DS_Store", "Thumbs.db", ".ipynb_checkpoints"}


class DownloadError(ValueError):
    """DOWNLOAD or the roster cannot be used at all; says which and why."""


@dataclass
class Imported:
    """What ``import_download`` did: ``placed``, ``{student_id: notebook path}``; ``late``, the
    students whose notebook is marked late; ``unplaced``, the files it could not place."""
    placed: dict = field(default_factory=dict)
    late: list = field(default_factory=list)
    unplaced: Ignored = field(default_factory=Ignored)


@dataclass
class _Found:
    """One file of the download: the LMS's id of its student and the file's own name."""
    path: Path
    where: str            # its path in the download, for messages
    lms_id: str           # Canvas user id, Moodle participant id
    name: str             # the student's name as the LMS wrote it
    original: str
    late: bool = False


def _files(root):
    """The regular files under ``root`` (symlinks and clutter skipped), sorted."""
    for path in sorted(root.rglob("*")):
        if path.is_file() and not path.is_symlink() and not CLUTTER & set(
                path.relative_to(root).parts):
            yield path


def _canvas(root, unplaced):
    for path in _files(root):
        where = path.relative_to(root).as_posix()
        match = CANVAS.fullmatch(path.name)
        if CANVAS_ANONYMOUS.fullmatch(path.name):
            unplaced.add("anonymous submissions", where, "Canvas's anonymous grading hides the "
                         "student: turn it off (or unmute) and download again")
        elif match is None or len(path.relative_to(root).parts) > 1:
            unplaced.add("files not named as Canvas names them", where,
                         "expected <name>_<user id>_<file id>_<file name>")
        else:
            yield _Found(path, where, match["user"], match["name"], match["original"],
                         late=bool(match["late"]))


def _moodle(root, unplaced):
    for path in _files(root):
        parts = path.relative_to(root).parts
        where = PurePosixPath(*parts).as_posix()
        match = MOODLE.fullmatch(parts[0])
        if match is None:
            unplaced.add("files not named as Moodle names them", where,
                         "expected <Full Name>_<participant id>_assignsubmission_file_/<file>")
        elif match["plugin"] != "file":
            unplaced.add("submissions that are not files", where,
                         f"Moodle's {match['plugin']} submission, not a notebook")
        else:
            original = "/".join([match["original"], *parts[1:]]).strip("/")
            yield _Found(path, where, match["participant"], match["name"], original)


def _lookup(roster, lms):
    """``(lms id, name) -> (student_id or None, why)`` over the roster's LMS columns."""
    column, fallback = ("ID", "Student") if lms == "canvas" else ("Identifier", "Full name")
    by_id, by_name = {}, {}
    for student, row in roster.items():
        digits = re.findall(r"\d+", row.get(column, ""))
        if digits:
            by_id.setdefault(digits[-1], []).append(student)
        if row.get(fallback):
            by_name.setdefault(_plain(row[fallback]), []).append(student)

    def find(lms_id, name):
        for found, how in ((by_id.get(lms_id, []), f"{column} {lms_id}"),
                           (by_name.get(_plain(name), []) if lms == "moodle" else [],
                            f"{fallback} {name}")):
            if len(found) == 1:
                return found[0], ""
            if len(found) > 1:
                return None, f"the roster lists {how} for {', '.join(found)}"
        return None, f"no roster row with {column} {lms_id}" + (
            f" or {fallback} {name}" if lms == "moodle" else "")
    return find


def _plain(name):
    return " ".join(name.split()).casefold()


def _submitted_at(row):
    """``(nbgrader's timestamp text or None, the text if it is not a time)`` of a roster row's
    ``Last modified (submission)`` (naive times are UTC, as nbgrader takes them)."""
    text = (row or {}).get(MOODLE_SUBMITTED, "").strip()
    if not text or text in ("-", "No submission"):
        return None, ""
    from dateutil import parser as dates
    try:
        return _timestamp(dates.parse(text)), ""
    except (ValueError, OverflowError):
        return None, text


def _timestamp(moment):
    """``moment`` as ``nbgrader collect`` writes ``timestamp.txt`` (UTC)."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(datetime.timezone.utc).replace(tzinfo=None)
    return moment.strftime("%Y-%m-%d %H:%M:%S.%f UTC")


def parse_due(text):
    """``--due``: a date and time (``2026-12-01 23:59``, with a zone or UTC)."""
    from dateutil import parser as dates
    try:
        moment = dates.parse(text)
    except (ValueError, OverflowError):
        raise argparse.ArgumentTypeError(f"{text!r} is not a date and time") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.timezone.utc)


def import_download(download, lms, assignment, roster, into, due=None):
    """Lay the LMS ``download`` (a zip or a folder) out in ``into`` as nbgrader's
    ``<student_id>/<assignment>/<notebook>`` with ``timestamp.txt``; an ``Imported``.
    ``roster``: ``{student_id: {LMS column: value}}`` (``export.read_roster``); ``due``: the
    due date (aware datetime) for Canvas's late marks."""
    download, into = Path(download), Path(into)
    with tempfile.TemporaryDirectory(prefix="lms-") as scratch:
        done = Imported()
        root = _unpacked(download, Path(scratch), done.unplaced)
        found = list((_canvas if lms == "canvas" else _moodle)(root, done.unplaced))
        find = _lookup(roster, lms)
        by_student = {}
        for item in found:
            if not names.is_notebook_name(item.original):
                done.unplaced.add("files that are not notebooks", item.where)
                continue
            student, why = find(item.lms_id, item.name)
            problem = why or names.id_problem(student) or (
                "the student id cannot be a folder name" if "/" in student
                or student in (".", "..") else "")
            if problem:
                done.unplaced.add("files of no roster student", item.where, problem)
                continue
            by_student.setdefault(student, []).append(item)
        for student, items in sorted(by_student.items()):
            if len(items) > 1:
                for item in items:
                    done.unplaced.add("students with several notebooks", item.where,
                                      f"{len(items)} notebooks from {student}: keep one")
                continue
            (item,) = items
            _place(item, student, assignment, into, roster.get(student), due, done)
    return done


def _unpacked(download, scratch, unplaced):
    """The folder holding the download's files (a zip unpacked into ``scratch`` by
    ``collect.unpack``; a single wrapping folder skipped)."""
    from autograder.intake import collect
    try:
        root, _ = collect.unpack(download, scratch, unplaced,
                                 content=lambda folder, refused: MOODLE.fullmatch(folder.name))
    except collect.SubmissionsError as error:
        raise DownloadError(str(error)) from None
    return root


def _place(item, student, assignment, into, row, due, done):
    folder = into / student / assignment
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / PurePosixPath(item.original).name
    shutil.copyfile(item.path, target)
    done.placed[student] = target
    stamp, not_a_time = _submitted_at(row)
    if not_a_time:
        done.unplaced.add("submission times not understood", item.where,
                          f"{MOODLE_SUBMITTED} {not_a_time!r}: no timestamp.txt written")
    if item.late:
        done.late.append(student)
        if due is None:
            done.unplaced.add("late work without a time", item.where,
                              "Canvas marks it late but gives no time: import with --due to "
                              "apply the late policy")
        else:
            stamp = stamp or _timestamp(due + datetime.timedelta(seconds=1))
    if stamp:
        (folder / "timestamp.txt").write_text(stamp)


def main(argv=None):
    """``autograde import``: exit 0 when every file was placed, 1 when some were listed as not
    placed (the others are imported), 2 for bad arguments or input."""
    from autograder.record.export import ExportError, read_roster
    cli = argparse.ArgumentParser(
        prog="autograde import",
        description="Lay a Canvas or Moodle download of one assignment out as nbgrader's "
                    "submitted/<student_id>/<assignment>/ folders, ready for autograde.")
    cli.add_argument("--lms", required=True, choices=("canvas", "moodle"))
    cli.add_argument("download", metavar="DOWNLOAD",
                     help="the LMS's download of the assignment's submissions: its .zip, or "
                          "the folder it was unpacked to")
    cli.add_argument("--assignment", required=True, metavar="NAME",
                     help="the nbgrader assignment these are submissions of")
    cli.add_argument("--roster", required=True, metavar="ROSTER.csv",
                     help="student_id plus the LMS's columns (Canvas: ID; Moodle: Identifier, "
                          "Full name, and optionally Last modified (submission))")
    cli.add_argument("--into", required=True, metavar="SUBMITTED",
                     help="the folder to lay out as <student_id>/<NAME>/<notebook>")
    cli.add_argument("--due", type=parse_due, metavar="WHEN",
                     help="the due date, for the work Canvas marks late (it gives no time)")
    args = cli.parse_args(argv)
    if not Path(args.download).exists():
        cli.error(f"DOWNLOAD {args.download} does not exist")
    if Path(args.into).exists() and not Path(args.into).is_dir():
        cli.error(f"--into {args.into} is a file: give a folder")
    try:
        roster = read_roster(args.roster)
        done = import_download(args.download, args.lms, args.assignment, roster, args.into,
                               args.due)
    except (DownloadError, ExportError, OSError) as error:
        cli.error(str(error))
    print(f"{len(done.placed)} notebooks imported into {args.into} "
          f"({len(done.late)} marked late)")
    if done.unplaced:
        print(f"{len(done.unplaced)} files not placed:", file=sys.stderr)
        for line in done.unplaced.lines(first=1000):
            print(f"  {line}", file=sys.stderr)
    return 1 if done.unplaced else 0
