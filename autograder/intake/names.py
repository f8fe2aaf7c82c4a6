"""Student ids from folder names, and the summary of the inputs that were ignored.

A folder name is whatever bytes the student's archive held: not always UTF-8, sometimes
300 characters long, sometimes holding a newline or a terminal escape. ``student_id`` keeps
it exact where it can (Unicode untouched, no case folding, no normalisation) and escapes
only the bytes that are not UTF-8 (``\\xe9``), so the id can be stored and printed;
``shown`` makes any text safe for one line on a terminal; ``id_problem`` says why an id
cannot go into nbgrader's gradebook.
"""
import os
import unicodedata
from collections import defaultdict

#: nbgrader's ``Student.id`` column is ``String(128)`` (enforced by PostgreSQL).
GRADEBOOK_ID_MAX = 128


def student_id(folder_name):
    """The student id of a folder name (``str`` from ``os.listdir``, undecodable bytes held as
    surrogate escapes): the name itself, with each byte that is not UTF-8 written ``\\xNN``."""
    return os.fsencode(folder_name).decode("utf-8", "backslashreplace")


def is_notebook_name(name):
    """A notebook's file name, however a browser saved it (``x.ipynb``, ``x (1).IPYNB``,
    ``x.ipynb.json``)."""
    return ".ipynb" in name.lower()


def shown(text):
    """``text`` safe to print on one line: control and format characters (newlines, terminal
    escapes, right-to-left overrides) and undecodable bytes written as escapes."""
    text = student_id(text) if isinstance(text, str) else os.fsdecode(text)
    return "".join(char if unicodedata.category(char) not in ("Cc", "Cf", "Cs")
                   else char.encode("unicode_escape").decode("ascii") for char in text)


def id_problem(student):
    """Why ``student`` (an id from ``student_id``) cannot be a gradebook id, or None."""
    if len(student) > GRADEBOOK_ID_MAX:
        return (f"the student id is {len(student)} characters long; nbgrader's gradebook "
                f"allows {GRADEBOOK_ID_MAX}: rename the folder")
    if "\0" in student:
        return "the student id holds a NUL character"
    return None


class Ignored:
    """The inputs a run ignored, by kind: ``add(kind, where, why)``; ``lines(first)`` summarises
    them (a count per kind and its first few), however many there are."""

    def __init__(self):
        self.by_kind = defaultdict(list)

    def add(self, kind, where, why=""):
        self.by_kind[kind].append(f"{shown(where)}: {why}" if why else shown(where))

    def __len__(self):
        return sum(len(items) for items in self.by_kind.values())

    def lines(self, first=3):
        """One line per kind, ``'<kind> (<count>): a; b; c and N more'``, most frequent first."""
        lines = []
        for kind, items in sorted(self.by_kind.items(), key=lambda kv: (-len(kv[1]), kv[0])):
            more = f" and {len(items) - first} more" if len(items) > first else ""
            lines.append(f"{kind} ({len(items)}): {'; '.join(items[:first])}{more}")
        return lines
