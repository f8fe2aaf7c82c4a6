"""The resume journal: ``OUT/records/``, one entry per recorded submission.

An interrupted run keeps each finished grade; the next run skips the submissions whose files
(and release, source notebooks and settings) have not changed, and grades the rest.
"""
import hashlib
import json
import os

from autograder.intake.reader import digest


class Journal:
    """``OUT/records/<student>/<assignment>.json``: each recorded submission's record and the key
    of what it was graded from (see ``key``); written last, so an entry means fully recorded."""

    def __init__(self, out, course, settings):
        self.folder, self.course, self.settings = out / "records", course, settings
        self.assignment_digests = {}

    @classmethod
    def of_grading(cls, out, course, cell_timeout):
        """The journal of ``autograde`` and ``autograde serve`` alike: one key for a grade
        whichever of them made it (settings: the cell timeout, the journal's format)."""
        return cls(out, course, {"cell_timeout": cell_timeout, "journal": 2})

    def key(self, assignment, submission):
        """What the grade depends on: the submission's files, the assignment's release and
        source notebooks (hidden tests) and the grading settings. (After a change to the grader
        itself, grade into a new OUT.)"""
        if assignment not in self.assignment_digests:
            self.assignment_digests[assignment] = digest(
                self.course.release(assignment), self.course.source(assignment))
        return hashlib.sha256(json.dumps(
            [digest(submission), self.assignment_digests[assignment], self.settings]
        ).encode()).hexdigest()

    def _path(self, student, assignment):
        return self.folder / student / f"{assignment}.json"

    def _entry(self, student, assignment):
        """The journal entry of ``student``'s ``assignment``, or None (also when damaged, say
        by a disk that filled up: graded again)."""
        path = self._path(student, assignment)
        if not path.exists():
            return None
        try:
            return json.loads(path.read_text(encoding="utf-8"))
        except ValueError:
            return None

    def lookup(self, student, assignment, key):
        """The record of an earlier run if it was graded from the same ``key``, else None."""
        entry = self._entry(student, assignment)
        return entry["record"] if entry and entry.get("key") == key else None

    def previous(self, student, assignment):
        """The last recorded record of ``student``'s ``assignment`` (whatever it was graded
        from), or None."""
        entry = self._entry(student, assignment)
        return entry["record"] if entry else None

    def records(self):
        """Every recorded record, as the last run of each submission left it."""
        entries = (self._entry(path.parent.name, path.stem)
                   for path in sorted(self.folder.glob("*/*.json")))
        return [entry["record"] for entry in entries if entry]

    def write(self, record, key):
        """Journal ``record``, graded from ``key`` (None: no grade to keep; the next run grades
        it again, and until then the CSVs and the report show ``record``)."""
        write_atomic(self._path(record["student_id"], record["assignment"]),
                     json.dumps({"key": key, "record": record}))


def write_atomic(path, text):
    """Write ``text`` to ``path`` atomically (a reader never sees half a file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    try:
        partial.write_text(text, encoding="utf-8")
        os.replace(partial, path)
    except OSError:
        partial.unlink(missing_ok=True)
        raise
