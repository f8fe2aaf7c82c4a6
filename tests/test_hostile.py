"""Hostile submissions (issues 6 and 10): one per attack, graded in one batch with honest
ones, in every isolation layer this machine offers (``tests/hostile/batch.py``).

For every attack and layer: no point that the function does not earn, the right status and
reason, the honest submissions' grades unchanged (graded before and after the attacks), the
same scores as in every other layer, and the course directory byte for byte unchanged: the
batch's own course directory (source, release, submissions) by hashes; the repository,
which other people may be editing while the suite runs, by the absence of what the attacks
try to write there. The layers' batches run at the same time, each in its own process: root
(when the tests run as root), an ordinary user (user namespaces), and an ordinary user
whose user namespaces are blocked as Docker's seccomp profile blocks them (Landlock).
"""
import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests import as_user
from tests.hostile.attacks import ATTACKS, HONEST, MARK

pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parent.parent
BATCH = [sys.executable, "-m", "tests.hostile.batch"]
LAYERS = {"root": lambda argv: argv, "userns": as_user.command,
          "landlock": lambda argv: as_user.command(argv, no_userns=True)}
if os.geteuid() != 0:
    del LAYERS["root"]


@pytest.fixture(scope="module")
def batches():
    """``{layer: batch result}``, the layers graded in parallel."""
    folder = tempfile.mkdtemp(prefix="autograde-hostile-out-")
    os.chmod(folder, 0o777)
    running = {}
    for layer, wrap in LAYERS.items():
        out = Path(folder) / f"{layer}.json"
        running[layer] = (out, subprocess.Popen(wrap([*BATCH, layer, str(out)]), cwd=REPO,
                                                stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                                                text=True))
    results = {}
    for layer, (out, process) in running.items():
        log, _ = process.communicate(timeout=1200)
        assert process.returncode == 0 and out.exists(), f"{layer} batch failed:\n{log[-4000:]}"
        results[layer] = json.loads(out.read_text())
        out.unlink()
    os.rmdir(folder)
    return results


@pytest.fixture(params=list(LAYERS))
def batch(request, batches):
    assert batches[request.param]["layer"] == request.param
    return batches[request.param]


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
    assert record["isolation"] == batch["layer"]
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


def test_same_scores_in_every_layer(batches):
    def scores(result):
        return {name: (record["status"], record["score"],
                       {grade_id: cell["points"] for grade_id, cell in _cells(record).items()})
                for name, record in result["records"].items()}
    layers = list(batches)
    for layer in layers[1:]:
        assert scores(batches[layer]) == scores(batches[layers[0]]), (layer, layers[0])


def test_course_directory_unchanged(batch):
    assert batch["unchanged"]
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
