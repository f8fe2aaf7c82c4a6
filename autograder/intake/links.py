"""Hard links in the submissions: a student's file that is the same file (``st_dev``,
``st_ino``) as an instructor's (the course's ``source/``, the answer key) or as another
student's submitted file is not that student's work. A file whose other links are elsewhere
(a collection made with ``cp -l`` from a download folder) is the student's as usual."""
import itertools
import os
import stat
from pathlib import Path

from autograder.intake import names

#: Files looked at per folder: at most what the sandbox copies (``engine.sandbox.COPY_FILES``).
MAX_FILES = 1000


def refusals(submissions, instructor):
    """``{(student, assignment): reason}`` for the ``submissions`` (``{(student folder name,
    assignment): folder}``) holding a hard link to a file under an ``instructor`` folder
    (shown from its parent: ``source/a1/first.ipynb``) or to another student's file."""
    linked = {key: _linked_files(folder) for key, folder in submissions.items()}
    if not any(linked.values()):
        return {}
    theirs = {inode: path.relative_to(root.parent) for root in instructor
              for inode, path in _linked_files(root).items()}
    students = {}   # inode -> {student: <student>/<assignment>/<path>}
    for (student, assignment), files in linked.items():
        folder = submissions[student, assignment]
        for inode, path in files.items():
            students.setdefault(inode, {})[student] = Path(student, assignment,
                                                           path.relative_to(folder))
    reasons = {}
    for (student, assignment), files in linked.items():
        for inode in sorted(files, key=files.get):
            others = {who: path for who, path in students[inode].items() if who != student}
            if inode in theirs:
                what = f"{names.shown(str(theirs[inode]))}, an instructor's file"
            elif others:
                who, path = min(others.items())
                what = f"{names.shown(str(path))}, {names.shown(who)}'s submitted file"
            else:
                continue
            mine = names.shown(str(students[inode][student]))
            reasons[student, assignment] = (f"{mine} is a hard link to {what} (the same file): "
                                            f"not graded as {names.shown(student)}'s work")
            break
    return reasons


def _linked_files(folder):
    """``{(st_dev, st_ino): path}`` of the regular files under ``folder`` (symlinks not
    followed; at most ``MAX_FILES`` looked at) that have more than one link."""
    found = {}
    for path in itertools.islice(_files(Path(folder)), MAX_FILES):
        try:
            info = path.lstat()
        except OSError:
            continue
        if stat.S_ISREG(info.st_mode) and info.st_nlink > 1:
            found.setdefault((info.st_dev, info.st_ino), path)
    return found


def _files(folder):
    for parent, folders, files in os.walk(folder):
        folders.sort()
        for name in sorted(files):
            yield Path(parent, name)
