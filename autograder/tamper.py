"""Compare a submission with its release; rebuild the notebook that is graded.

Cells are matched by their nbgrader ``grade_id`` (never by cell id: old notebooks have
none). Every locked cell (tests, read-only cells) of the graded notebook is the release's
original; solution and written-answer cells keep the student's text under the release's
metadata. What the student changed, deleted, duplicated or added is reported in words.
"""
import copy
from dataclasses import dataclass, field


@dataclass
class Merged:
    """The notebook to grade and what was found on the way."""
    cells: list                                   # nbformat v4 cell dicts
    problems: list = field(default_factory=list)  # tampering, in words
    missing: set = field(default_factory=set)     # grade ids the student deleted


def nbgrader(cell):
    """The cell's nbgrader metadata (an empty dict if none or malformed)."""
    meta = cell.get("metadata", {}) if isinstance(cell.get("metadata"), dict) else {}
    value = meta.get("nbgrader")
    return value if isinstance(value, dict) else {}


def source(cell):
    """The cell's source as one string (nbformat allows a list of lines)."""
    text = cell.get("source", "")
    return "".join(text) if isinstance(text, list) else str(text)


def is_test(cell):
    """An autograded test cell: a locked code cell worth points."""
    meta = nbgrader(cell)
    return (cell.get("cell_type") == "code" and bool(meta.get("grade"))
            and not meta.get("solution"))


def is_manual(cell):
    """A manually graded written answer."""
    meta = nbgrader(cell)
    return bool(meta.get("grade")) and bool(meta.get("solution")) \
        and cell.get("cell_type") == "markdown"


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
    if ours.get("locked") and source(release) != source(submitted):
        changes.append("source changed")
    return changes


def _clean(cell, index):
    cell = copy.deepcopy(cell)
    cell["source"] = source(cell)
    if cell.get("cell_type") == "code":
        cell["outputs"], cell["execution_count"] = [], None
    cell.setdefault("metadata", {})
    if not isinstance(cell["metadata"], dict):
        cell["metadata"] = {}
    cell["id"] = f"graded-{index:03d}"
    if cell.get("cell_type") == "code":
        cell.pop("attachments", None)
    return cell


def _plain(cell):
    cell = copy.deepcopy(cell)
    if isinstance(cell.get("metadata"), dict):
        cell["metadata"].pop("nbgrader", None)
    return cell


def merge(release, submission):
    """The graded notebook's cells for ``submission`` (both nbformat v4 dicts)."""
    release_cells = release.get("cells", [])
    by_id = {nbgrader(c)["grade_id"]: c for c in release_cells if nbgrader(c).get("grade_id")}
    order = [nbgrader(c).get("grade_id") for c in release_cells]
    problems, cells, seen = [], [], {}
    submitted = submission.get("cells", [])
    if not isinstance(submitted, list):
        submitted = []
    for cell in submitted:
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            problems.append("a cell that is not a notebook cell was dropped")
            continue
        grade_id = nbgrader(cell).get("grade_id")
        if grade_id in by_id and grade_id not in seen:
            original = by_id[grade_id]
            changes = _differences(original, cell)
            if changes:
                problems.append(f"{_kind(original)} {grade_id} was changed: {'; '.join(changes)}")
            merged = copy.deepcopy(original)
            if not nbgrader(original).get("locked"):
                merged["source"] = source(cell)
            seen[grade_id] = len(cells)
            cells.append(merged)
        elif grade_id in by_id:
            problems.append(f"{_kind(by_id[grade_id])} {grade_id} was duplicated "
                            "(the copy is graded as ordinary code)")
            if not nbgrader(by_id[grade_id]).get("locked"):
                cells.append(_plain(cell))
        else:
            if grade_id is not None or nbgrader(cell):
                problems.append(f"a cell with nbgrader metadata unknown to the release "
                                f"({grade_id!r}) is graded as ordinary code")
            cells.append(_plain(cell))
    missing = set()
    for position, grade_id in enumerate(order):
        if grade_id is None or grade_id in seen:
            continue
        original = by_id[grade_id]
        missing.add(grade_id)
        problems.append(f"{_kind(original)} {grade_id} was deleted (restored from the release)")
        earlier = [seen[g] for g in order[:position] if g in seen]
        at = max(earlier) + 1 if earlier else 0
        for key in seen:
            if seen[key] >= at:
                seen[key] += 1
        seen[grade_id] = at
        cells.insert(at, copy.deepcopy(original))
    return Merged([_clean(cell, index) for index, cell in enumerate(cells)], problems, missing)
