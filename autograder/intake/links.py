"""Hard links in the submissions: a student's file that is the same file (``st_dev``,
``st_ino``) as an instructor's (the course's ``source/``, the answer key) is not that
student's work. A file whose other links are elsewhere (a collection made with ``cp -l`` from
a download folder) is the student's as usual, and so are two students' files linked to each
other: a hard link has no direction (either could have written it, and a deduplicating copy
links identical files), so they are graded as the identical copies they are, and the report's
similar answers show them side by side for a human to judge."""
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
    (shown from its parent: ``source/a1/first.ipynb``)."""
    linked = {key: _linked_files(folder) for key, folder in submissions.items()}
    if not any(linked.values()):
        return {}
    theirs = {inode: path.relative_to(root.parent) for root in instructor
              for inode, path in _linked_files(root).items()}
    reasons = {}
    for (student, assignment), files in linked.items():
        inode = next((inode for inode in sorted(files, key=files.get) if inode in theirs), None)
        if inode is not None:
            mine = Path(student, assignment, files[inode].relative_to(
                submissions[student, assignment]))
            reasons[student, assignment] = (
                f"{names.shown(str(mine))} is a hard link to {names.shown(str(theirs[inode]))}, "
                f"an instructor's file (the same file): not graded as {names.shown(student)}'s "
                "work")
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
