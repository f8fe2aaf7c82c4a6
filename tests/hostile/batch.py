"""The hostile batch: every attack graded with honest submissions, in one isolation layer.

``python -m tests.hostile.batch LAYER OUT.json`` builds the fixture course in a fresh
temporary directory, grades the honest submissions, every attack, then the honest ones
again, and writes ``{"records", "first", "unchanged", "layer"}`` (``unchanged``: the course
directory's files hashed the same before and after). ``tests/test_hostile.py`` runs it in
every layer this machine offers, as root and as an ordinary user.
"""
import hashlib
import json
import shutil
import sys
import tempfile
from pathlib import Path

from autograder.engine import job
from tests.hostile import course_fixture
from tests.hostile.attacks import ATTACKS, HONEST

REPO = Path(__file__).resolve().parent.parent.parent
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


def run(layer, root):
    """Grade the batch under ``layer`` with the course built in ``root``."""
    course_fixture.build(root)
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
    job.warm_up(layer)
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
    return {"records": records, "first": first, "unchanged": tree_hash(*watched) == before,
            "layer": job.isolation_layer()}


if __name__ == "__main__":
    workdir = Path(tempfile.mkdtemp(prefix="autograde-hostile-"))
    try:
        result = run(sys.argv[1], workdir)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    Path(sys.argv[2]).write_text(json.dumps(result))
