"""Compare a submission with its release; rebuild the notebook that is graded.

Cells are matched by their nbgrader ``grade_id`` (never by cell id: old notebooks have
none). Every locked cell (tests, read-only cells) of the graded notebook is the release's
original; solution and written-answer cells keep the student's text under the release's
metadata. What the student changed, deleted, duplicated or added is reported in words.

Tools save honest notebooks differently: line endings (Windows' CRLF) are made Jupyter's LF
before cells are compared, and a picture pasted into a text cell (an attachment) goes with the
student's text; a picture the text refers to that the file does not hold is shown as a
placeholder naming it (nbconvert would refuse the whole page).
"""
import base64
import copy
import html
import re
from dataclasses import dataclass, field

from autograder.engine.cells import grade_id, is_manual, is_test, nbgrader, source


@dataclass
class Merged:
    """The notebook to grade and what was found on the way."""
    cells: list                                   # nbformat v4 cell dicts
    problems: list = field(default_factory=list)  # tampering, in words
    missing: set = field(default_factory=set)     # grade ids the student deleted


#: ``![...](attachment:NAME)`` and ``<img src="attachment:NAME">``, also in ``<...>``.
_ATTACHMENT = re.compile(r"<attachment:([^>]+)>|attachment:([^\s)\"'>]+)")


def _text(cell):
    """The cell's source with Windows (CRLF) and old Mac (CR) line endings as Jupyter's LF."""
    return source(cell).replace("\r\n", "\n").replace("\r", "\n")


def _missing_picture(name):
    """A placeholder picture (SVG, base64) saying that attachment ``name`` is not in the file."""
    svg = ('<svg xmlns="http://www.w3.org/2000/svg" width="420" height="40"><text x="8" y="25">'
           f"picture {html.escape(name)} is not in the submitted file</text></svg>")
    return base64.b64encode(svg.encode()).decode("ascii")


def _attachments(cell):
    """``{name: {mime type: base64 text}}``: the cell's well-formed attachments, plus a
    placeholder for each one its text refers to that the file does not hold."""
    found = {}
    given = cell.get("attachments")
    for name, bundle in (given.items() if isinstance(given, dict) else ()):
        if not isinstance(bundle, dict):
            continue
        data = {mime: "".join(value) if isinstance(value, list) else value
                for mime, value in bundle.items() if isinstance(value, str) or (
                    isinstance(value, list) and all(isinstance(v, str) for v in value))}
        if data:
            found[name] = data
    for bracketed, bare in _ATTACHMENT.findall(_text(cell)):
        name = bracketed or bare
        found.setdefault(name, {"image/svg+xml": _missing_picture(name)})
    return found


def _kind(cell):
    meta = nbgrader(cell)
    if is_test(cell):
        return "test cell"
    if is_manual(cell):
        return "answer cell"
    if meta.get("solution"):
        return "solution cell"
    return "locked cell"


def _differences(release, submitted):
    """What the student changed in a graded or locked cell, in words."""
    changes = []
    ours, theirs = nbgrader(release), nbgrader(submitted)
    for key in sorted(set(ours) | set(theirs)):
        if key != "checksum" and ours.get(key) != theirs.get(key):
            changes.append(f"{key} {ours.get(key)!r} -> {theirs.get(key)!r}")
    if release.get("cell_type") != submitted.get("cell_type"):
        changes.append(f"cell type {release.get('cell_type')} -> {submitted.get('cell_type')}")
    if ours.get("locked") and _text(release) != _text(submitted):
        changes.append("source changed")
    return changes


def _clean(cell, index):
    cell = copy.deepcopy(cell)
    cell["source"] = _text(cell)
    if cell.get("cell_type") == "code":
        cell["outputs"], cell["execution_count"] = [], None
    cell.setdefault("metadata", {})
    if not isinstance(cell["metadata"], dict):
        cell["metadata"] = {}
    cell["id"] = f"graded-{index:03d}"
    attachments = _attachments(cell) if cell.get("cell_type") != "code" else None
    cell.pop("attachments", None)
    if attachments:
        cell["attachments"] = attachments
    return cell


def _plain(cell):
    cell = copy.deepcopy(cell)
    if isinstance(cell.get("metadata"), dict):
        cell["metadata"].pop("nbgrader", None)
    return cell


def merge(release, submission):
    """The graded notebook's cells for ``submission`` (both nbformat v4 dicts)."""
    release_cells = release.get("cells", [])
    by_id = {grade_id(c): c for c in release_cells if grade_id(c)}
    order = [grade_id(c) for c in release_cells]
    problems, cells, seen = [], [], {}
    submitted = submission.get("cells", [])
    for number, cell in enumerate(submitted if isinstance(submitted, list) else [], 1):
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            what = (f"cell_type {cell.get('cell_type')!r}" if isinstance(cell, dict)
                    else f"a {type(cell).__name__}")
            problems.append(f"cell {number} of the file is not a notebook cell ({what}) and "
                            "was dropped; the others are graded")
            continue
        name = grade_id(cell)
        if name in by_id and name not in seen:
            original = by_id[name]
            changes = _differences(original, cell)
            if changes:
                problems.append(f"{_kind(original)} {name} was changed: {'; '.join(changes)}")
            merged = copy.deepcopy(original)
            if not nbgrader(original).get("locked"):
                merged["source"] = _text(cell)
                if "attachments" in cell:
                    merged["attachments"] = cell["attachments"]
            seen[name] = len(cells)
            cells.append(merged)
        elif name in by_id:
            problems.append(f"{_kind(by_id[name])} {name} was duplicated "
                            "(the copy is graded as ordinary code)")
            if not nbgrader(by_id[name]).get("locked"):
                cells.append(_plain(cell))
        else:
            if nbgrader(cell):
                problems.append(f"a cell with nbgrader metadata unknown to the release "
                                f"({nbgrader(cell).get('grade_id')!r}) is graded as ordinary code")
            cells.append(_plain(cell))
    missing = set()
    for position, name in enumerate(order):
        if name is None or name in seen:
            continue
        original = by_id[name]
        missing.add(name)
        problems.append(f"{_kind(original)} {name} was deleted (restored from the release)")
        earlier = [seen[g] for g in order[:position] if g in seen]
        at = max(earlier) + 1 if earlier else 0
        for key in seen:
            if seen[key] >= at:
                seen[key] += 1
        seen[name] = at
        cells.insert(at, copy.deepcopy(original))
    return Merged([_clean(cell, index) for index, cell in enumerate(cells)], problems, missing)
