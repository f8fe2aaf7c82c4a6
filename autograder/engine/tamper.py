"""Compare a submission with its release; rebuild the notebook that is graded.

Cells are matched by their nbgrader ``grade_id`` (never by cell id: old notebooks have
none). Every locked cell (tests, read-only cells) of the graded notebook is the release's
original; solution and written-answer cells keep the student's text under the release's
metadata. What the student changed, deleted, duplicated or added is reported in words.
"""
import copy
from dataclasses import dataclass, field

from autograder.engine.cells import grade_id, is_manual, is_test, nbgrader, source


@dataclass
class Merged:
    """The notebook to grade and what was found on the way."""
    cells: list                                   # nbformat v4 cell dicts
    problems: list = field(default_factory=list)  # tampering, in words
    missing: set = field(default_factory=set)     # grade ids the student deleted


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
    by_id = {grade_id(c): c for c in release_cells if grade_id(c)}
    order = [grade_id(c) for c in release_cells]
    problems, cells, seen = [], [], {}
    submitted = submission.get("cells", [])
    for cell in submitted if isinstance(submitted, list) else []:
        if not isinstance(cell, dict) or cell.get("cell_type") not in ("code", "markdown", "raw"):
            problems.append("a cell that is not a notebook cell was dropped")
            continue
        name = grade_id(cell)
        if name in by_id and name not in seen:
            original = by_id[name]
            changes = _differences(original, cell)
            if changes:
                problems.append(f"{_kind(original)} {name} was changed: {'; '.join(changes)}")
            merged = copy.deepcopy(original)
            if not nbgrader(original).get("locked"):
                merged["source"] = source(cell)
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
