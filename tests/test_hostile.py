"""Hostile submissions (issue 6): one per attack, graded in one batch with honest ones.

For every attack: no point that the function does not earn, the right status and reason,
the honest submissions' grades unchanged (graded before and after the attacks), and the
course directory byte for byte unchanged: the test's own course directory (source, release,
submissions) by hashes; the repository, which other people may be editing while the suite
runs, by the absence of what the attacks try to write there.
"""
import hashlib
from pathlib import Path

import pytest

from autograder.engine import job
from tests.hostile import course_fixture
from tests.hostile.attacks import ATTACKS, HONEST, MARK

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
CELL_TIMEOUT = 3.0
MEMORY_MB = 512


def tree_hash(*roots):
    """``{path: sha256}`` of every file under ``roots``."""
    digests = {}
    for root in roots:
        for path in sorted(Path(root).rglob("*")):
            if path.is_file() and "__pycache__" not in path.parts:
                digests[str(path)] = hashlib.sha256(path.read_bytes()).hexdigest()
    return digests


def _fill(text, places):
    for key, value in places.items():
        text = text.replace("{" + key + "}", str(value))
    return text


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    root = course_fixture.build(tmp_path_factory.mktemp("course"))
    folders = {name: course_fixture.submission(root, name, code) for name, code in HONEST.items()}
    places = {"course": REPO, "fixture": root, "victim": folders["honest_key"]}
    for attack in ATTACKS:
        folders[attack.name] = course_fixture.submission(
            root, attack.name, {k: _fill(v, places) for k, v in attack.code.items()},
            [(after, _fill(text, places)) for after, text in attack.extra], attack.edit)
        for name, target in attack.links.items():
            (folders[attack.name] / name).symlink_to(_fill(target, places))
    watched = [root / "source", root / "release", root / "submitted"]
    before = tree_hash(*watched)
    job.warm_up()
    order = list(HONEST) + [a.name for a in ATTACKS] + list(HONEST)
    records, first = {}, {}
    for name in order:
        record = job.grade(job.Job(student_id=name, assignment=course_fixture.ASSIGNMENT,
                                   submission=str(folders[name]),
                                   release=str(root / "release" / course_fixture.ASSIGNMENT),
                                   source=str(root / "source" / course_fixture.ASSIGNMENT),
                                   cell_timeout=CELL_TIMEOUT, memory_mb=MEMORY_MB))
        if name in records:
            first[name] = records[name]
        records[name] = record
    return {"records": records, "first": first, "before": before, "after": tree_hash(*watched)}


def _cells(record):
    (notebook,) = record["notebooks"]
    return {cell["grade_id"]: cell for cell in notebook["cells"]}


def _outputs(record):
    (notebook,) = record["notebooks"]
    texts = []
    for cell in notebook["notebook"]["cells"]:
        for output in cell.get("outputs", []):
            texts.append(output.get("text", "") + output.get("evalue", "")
                         + str(output.get("data", {}).get("text/plain", "")))
    return "\n".join(texts)


@pytest.mark.parametrize("attack", ATTACKS, ids=lambda attack: attack.name)
def test_attack(batch, attack):
    record = batch["records"][attack.name]
    cells = _cells(record)
    assert record["max_score"] == 14.0, "the release's points, whatever the submission says"
    for grade_id, cell in cells.items():
        if cell["kind"] != "autograded":
            continue
        expected = 0.0 if grade_id in attack.zero else cell["max_points"]
        assert cell["points"] == expected, (grade_id, cell, record["reason"])
    assert record["status"] == attack.status, record["reason"]
    assert attack.reason in record["reason"], record["reason"]
    assert attack.output in _outputs(record)


@pytest.mark.parametrize("name", list(HONEST))
def test_honest_full_points_before_and_after_the_attacks(batch, name):
    first, last = batch["first"][name], batch["records"][name]
    for record in (first, last):
        assert (record["status"], record["score"], record["flags"]) == ("graded", 12.0, []), \
            record["reason"]
        assert all(c["status"] == ("manual" if c["kind"] == "manual" else "passed")
                   for c in _cells(record).values())
    assert _cells(first) == _cells(last)


def test_course_directory_unchanged(batch):
    assert batch["after"] == batch["before"]
    assert not (REPO / "source" / "x.txt").exists()
    assert not (REPO / "autograded" / "evil").exists()
    for folder in ("autograder", "course", "source", "release"):
        for path in (REPO / folder).rglob("*.py*"):
            assert MARK not in path.read_text(errors="replace"), path


def test_test_cells_carry_only_the_verdict(batch):
    """The hidden tests' source never reaches the graded notebook; a failure is one line."""
    record = batch["records"]["fake_passed_output"]
    (notebook,) = record["notebooks"]
    (test,) = [c for c in notebook["notebook"]["cells"]
               if c["metadata"].get("nbgrader", {}).get("grade_id") == "test_corr2d"]
    assert "HIDDEN" not in "".join(test["source"]) and "X64" not in "".join(test["source"])
    (error,) = test["outputs"]
    assert error["output_type"] == "error" and error["ename"] == "AssertionError"
    assert error["traceback"] == [f"AssertionError: {error['evalue']}"]
    assert "X64" not in error["evalue"]
