"""``autograde serve`` as it is used: a real service on loopback (its own process, warm
workers, the sandbox), students and a grader with their own tokens, ``course.submit`` as the
students' notebooks call it, ``autograde export`` and the gradebook as the instructor reads them.

The course is the hostile tests' fixture chapter (``tests/hostile/course_fixture``): small,
with the same hidden-test shapes as the chapters.
"""
import csv
import hashlib
import json
import os
import re
import signal
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import psutil
import pytest

from autograder.serve.client import grade_via_service
from autograder.serve.policy import Policy, PolicyError, policies
from autograder.serve.queue import Queue, Refused
from course.submit import ServiceError, Verdict, check, request, submit, wait
from tests.hostile import course_fixture
from tests.hostile.attacks import ATTACKS, WRONG_CORR2D

REPO = Path(__file__).resolve().parent.parent
ASSIGNMENT = course_fixture.ASSIGNMENT
ATTEMPTS = 3
FULL = 12.0                                                   # the fixture's autograded points
WRONG = {"corr2d": WRONG_CORR2D}                              # test_corr2d and test_Conv2D fail
CONFIG = f'''c = get_config()
c.CourseDirectory.course_id = "fixture"
c.AutogradeServe.policies = {{"*": {{"attempts": {ATTEMPTS}}}}}
'''


def make_course(root):
    """The fixture course with its policy; the tokens file and ``{user: token}`` of four
    students and a TA."""
    course_fixture.build(root)
    (root / "nbgrader_config.py").write_text(CONFIG)
    tokens = root.parent / "tokens.json"
    users = {user: False for user in ("stu1", "stu2", "stu3", "victim")} | {"ta": True}
    issued = {}
    for user, grader in users.items():
        issued[user] = subprocess.run(
            [sys.executable, "-m", "autograder.cli", "serve", "token", user, "--tokens",
             str(tokens)] + (["--grader"] if grader else []),
            capture_output=True, text=True, check=True).stdout.strip()
    return tokens, issued


class Running:
    """``autograde serve`` on the course at ``root``, in its own process (``start``/``kill``)."""

    def __init__(self, root, tokens, workers=2):
        self.root, self.tokens, self.workers = root, tokens, workers
        self.log = root.parent / "serve.log"
        self.process = None

    def start(self):
        info = self.root / "serve" / "service.json"
        info.unlink(missing_ok=True)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "autograder.cli", "serve", "--course", str(self.root),
             "--tokens", str(self.tokens), "--port", "0", "--workers", str(self.workers),
             "--timeout", "5"], cwd=REPO, stdout=open(self.log, "a"), stderr=subprocess.STDOUT,
            env=dict(os.environ, PATH=f"{Path(sys.executable).parent}:{os.environ['PATH']}"))
        deadline = time.monotonic() + 600
        while not info.exists():
            assert self.process.poll() is None, f"the service died:\n{self.log.read_text()[-3000:]}"
            assert time.monotonic() < deadline, "the service did not start in 10 minutes"
            time.sleep(0.2)
        self.url = json.loads(info.read_text())["url"]
        return self

    def stop(self):
        if self.process and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(60)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()

    def kill(self):
        self.process.kill()
        self.process.wait()


@pytest.fixture(scope="module")
def served(tmp_path_factory):
    root = tmp_path_factory.mktemp("serve") / "course"
    tokens, issued = make_course(root)
    service = Running(root, tokens).start()
    service.issued = issued
    yield service
    service.stop()


def notebook(root, code=None, extra=()):
    """The fixture notebook with the answer key, except ``code``; ``extra`` cells."""
    scratch = root.parent / "scratch"
    scratch.mkdir(exist_ok=True)
    for kind in ("release", "source"):
        if not (scratch / kind).exists():
            (scratch / kind).symlink_to(root / kind)
    folder = course_fixture.submission(scratch, "anyone", code, extra)
    return json.loads((folder / f"{course_fixture.STEM}.ipynb").read_text())


def send(served, user, nb, **options):
    return submit(ASSIGNMENT, {course_fixture.STEM: nb}, url=served.url,
                  token=served.issued[user], **options)


def verdicts_by_test(view):
    return {t["test"]: t for t in view["verdict"]["tests"]}


def hidden_test_lines(root):
    """The lines of the source notebook's hidden tests (that no student may see)."""
    source = json.loads((root / "source" / ASSIGNMENT / f"{course_fixture.STEM}.ipynb").read_text())
    lines = []
    for cell in source["cells"]:
        text = "".join(cell["source"])
        if "BEGIN HIDDEN TESTS" in text:
            hidden = text.split("### BEGIN HIDDEN TESTS")[1].split("### END HIDDEN TESTS")[0]
            lines += [line.strip() for line in hidden.splitlines() if len(line.strip()) > 12]
    assert lines
    return lines


@pytest.mark.slow
def test_a_student_sees_each_verdict_right_then_wrong(served, tmp_path, monkeypatch):
    # the notebook's one line, as in the student's kernel: this notebook, as saved
    saved = tmp_path / ASSIGNMENT / f"{course_fixture.STEM}.ipynb"
    saved.parent.mkdir()
    saved.write_text(json.dumps(notebook(served.root)))
    monkeypatch.setenv("JPY_SESSION_NAME", str(saved))
    monkeypatch.setenv("AUTOGRADE_URL", served.url)
    monkeypatch.setenv("AUTOGRADE_TOKEN", served.issued["stu1"])
    right = check()
    assert right["state"] == "done" and right["counted"] and right["attempts_used"] == 1
    assert right["verdict"]["score"] == FULL and right["verdict"]["max_score"] == FULL
    assert all(t["status"] == "passed" for t in right["verdict"]["tests"])
    wrong = send(served, "stu1", notebook(served.root, WRONG))
    assert wrong["attempts_used"] == 2 and wrong["counted"]
    tests = verdicts_by_test(wrong)
    assert tests["test_corr2d"]["points"] == 0 and tests["test_corr2d"]["status"] == "failed"
    assert "shape" in tests["test_corr2d"]["message"] or "expected" in tests["test_corr2d"]["message"]
    assert tests["test_pool2d"]["points"] == tests["test_pool2d"]["max_points"] > 0
    assert wrong["verdict"]["score"] < FULL
    # messages and points, never the hidden tests' code; the notebook shows them as a table
    shown = json.dumps([right, wrong]) + Verdict(wrong)._repr_html_()
    assert not [line for line in hidden_test_lines(served.root) if line in shown]
    assert "test_corr2d" in Verdict(wrong)._repr_html_()
    served.stu1 = right, wrong


@pytest.mark.slow
def test_another_students_token_cannot_read_or_submit_as_them(served):
    if not hasattr(served, "stu1"):
        served.stu1 = (send(served, "stu1", notebook(served.root)),)
    theirs = served.stu1[0]["id"]
    stu2 = served.issued["stu2"]
    with pytest.raises(ServiceError) as refused:
        request("GET", f"{served.url}api/submissions/{theirs}", stu2, tries=1)
    assert refused.value.status == 404
    with pytest.raises(ServiceError) as refused:
        request("GET", f"{served.url}api/submissions?student=stu1", stu2, tries=1)
    assert refused.value.status == 403
    with pytest.raises(ServiceError) as refused:
        request("POST", f"{served.url}api/submissions", stu2,
                {"assignment": ASSIGNMENT, "student": "stu1",
                 "notebooks": {course_fixture.STEM: notebook(served.root)}}, tries=1)
    assert refused.value.status == 403 and "only as yourself" in str(refused.value)
    for token in ("", "not-a-token"):
        with pytest.raises(ServiceError) as refused:
            request("GET", f"{served.url}api/submissions/{theirs}", token, tries=1)
        assert refused.value.status == 401
    assert request("GET", f"{served.url}api/submissions", stu2)["submissions"] == []
    # the grader sees them
    seen = request("GET", f"{served.url}api/submissions?student=stu1", served.issued["ta"])
    assert theirs in [s["id"] for s in seen["submissions"]]


@pytest.mark.slow
def test_the_attempt_limit_holds_against_parallel_requests_and_retries(served):
    nb = notebook(served.root)
    body = {"assignment": ASSIGNMENT, "notebooks": {course_fixture.STEM: nb}}
    token = served.issued["stu3"]

    def attempt(number):
        try:
            return request("POST", f"{served.url}api/submissions", token, body,
                           key=f"key-{number}", tries=1)
        except ServiceError as error:
            return error

    with ThreadPoolExecutor(10) as threads:
        answers = list(threads.map(attempt, range(10)))
    accepted = [a for a in answers if isinstance(a, dict)]
    refused = [a for a in answers if isinstance(a, ServiceError)]
    assert len(accepted) == ATTEMPTS, answers
    assert all(r.status == 429 and f"all {ATTEMPTS}" in str(r) for r in refused)
    # a client's retry with the same key: the same submission, no attempt used
    first = next(n for n, a in enumerate(answers) if isinstance(a, dict))
    again = request("POST", f"{served.url}api/submissions", token, body, key=f"key-{first}")
    assert again["id"] == answers[first]["id"]
    mine = request("GET", f"{served.url}api/submissions", token)["submissions"]
    assert len(mine) == ATTEMPTS
    # what the notebook shows: the service's reason
    with pytest.raises(ServiceError) as refused:
        send(served, "stu3", nb)
    assert refused.value.status == 429


@pytest.mark.slow
def test_the_instructor_sees_both_and_the_counted_one_everywhere(served):
    if not hasattr(served, "stu1") or len(served.stu1) < 2:
        served.stu1 = (send(served, "stu1", notebook(served.root)),
                       send(served, "stu1", notebook(served.root, WRONG)))
    right, wrong = served.stu1
    seen = request("GET", f"{served.url}api/submissions?student=stu1&assignment={ASSIGNMENT}",
                   served.issued["ta"])["submissions"]
    assert {right["id"], wrong["id"]} <= {s["id"] for s in seen}
    exported = served.root.parent / "export.csv"
    subprocess.run([sys.executable, "-m", "autograder.cli", "export", "--format", "csv",
                    "--out", str(exported), "--course", str(served.root)], check=True, cwd=REPO,
                   capture_output=True)
    rows = {r["student_id"]: r for r in csv.DictReader(exported.open())}
    assert float(rows["stu1"]["autograded"]) == wrong["verdict"]["score"]   # the last counts
    autograded = served.root / "autograded" / "stu1" / ASSIGNMENT / f"{course_fixture.STEM}.ipynb"
    feedback = served.root / "out" / "feedback" / "stu1" / ASSIGNMENT / f"{course_fixture.STEM}.html"
    assert autograded.exists() and feedback.exists()
    # the formgrader's button path: the collected submission, graded by the warm service
    collected = served.root / "submitted" / "stu1" / ASSIGNMENT
    assert (collected / f"{course_fixture.STEM}.ipynb").exists()
    started = time.perf_counter()
    assert grade_via_service(served.root, "stu1", ASSIGNMENT) is True
    print(f"grade_via_service: {time.perf_counter() - started:.2f} s")
    mine = request("GET", f"{served.url}api/submissions", served.issued["stu1"])["submissions"]
    assert mine[-1]["attempts_used"] == 2   # the instructor's regrade used no attempt
    assert grade_via_service(served.root.parent, "stu1", ASSIGNMENT) is False   # none there


@pytest.mark.slow
def test_hostile_submissions_change_no_other_verdict(served):
    victim = send(served, "victim", notebook(served.root))
    assert victim["verdict"]["score"] == FULL
    victim_folder = served.root / "submitted" / "victim" / ASSIGNMENT
    before = {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in victim_folder.iterdir()}
    chosen = {a.name: a for a in ATTACKS if a.name in (
        "read_source_notebook", "read_other_student", "write_course_dir",
        "infinite_loop_ignoring_sigint")}
    places = {"course": REPO, "fixture": served.root, "victim": victim_folder}

    def fill(text):
        for key, value in places.items():
            text = text.replace("{" + key + "}", str(value))
        return text

    sent, token = {}, served.issued["ta"]   # the attackers' submissions, sent by the TA
    for name, spec in chosen.items():
        nb = notebook(served.root, {k: fill(v) for k, v in spec.code.items()},
                      [(after, fill(text)) for after, text in spec.extra])
        sent[name] = request("POST", f"{served.url}api/submissions", token,
                             {"assignment": ASSIGNMENT, "student": f"attacker_{name}",
                              "notebooks": {course_fixture.STEM: nb}})
    for name, submission in sent.items():
        done = wait(served.url, token, submission, 300)
        spec = chosen[name]
        assert done["state"] == "done", (name, done)
        found = done["verdict"]
        assert found["status"] == spec.status, (name, found)
        for test in found["tests"]:
            earned = test["points"] == test["max_points"]
            assert earned == (test["test"] not in spec.zero), (name, test)
        if spec.reason:
            assert spec.reason in found.get("reason", ""), (name, found)
    after = request("GET", f"{served.url}api/submissions?student=victim", token)["submissions"]
    assert [s["verdict"] for s in after] == [victim["verdict"]]
    assert {p.name: hashlib.sha256(p.read_bytes()).hexdigest()
            for p in victim_folder.iterdir()} == before
    assert not list(served.root.glob("**/*HACKED*"))


@pytest.mark.slow
def test_killed_with_submissions_queued_each_is_graded_once(tmp_path):
    root = tmp_path / "course"
    tokens, issued = make_course(root)
    service = Running(root, tokens, workers=1).start()
    try:
        nb = notebook(root)
        students = ["stu1", "stu2", "stu3", "victim"]
        sent = {s: request("POST", f"{service.url}api/submissions", issued[s],
                           {"assignment": ASSIGNMENT,
                            "notebooks": {course_fixture.STEM: nb}}, key=f"k-{s}")
                for s in students}
        ids = {s: sub["id"] for s, sub in sent.items()}
        first = request("GET", f"{service.url}api/submissions/{ids['stu1']}?wait=60",
                        issued["stu1"])
        assert first["state"] == "done"
        queued = [s for s in students if request(
            "GET", f"{service.url}api/submissions/{ids[s]}", issued[s])["state"] == "queued"]
        tree = psutil.Process(service.process.pid).children(recursive=True)
        service.kill()
        assert queued, "nothing was left queued to test the restart with"
        gone, alive = psutil.wait_procs(tree, timeout=60)   # the workers die with it
        assert not alive, alive
        service.start()
        # the client's retry after the restart: the same submission
        again = request("POST", f"{service.url}api/submissions", issued["stu2"],
                        {"assignment": ASSIGNMENT, "notebooks": {course_fixture.STEM: nb}},
                        key="k-stu2")
        assert again["id"] == ids["stu2"]
        for s in students:
            done = request("GET", f"{service.url}api/submissions/{ids[s]}?wait=60", issued[s])
            assert done["state"] == "done" and done["verdict"]["score"] == FULL, done
            assert done["attempts_used"] == 1
    finally:
        service.stop()
    log = service.log.read_text()
    for s in students:   # recorded once: one line of either kind per submission
        lines = re.findall(rf"{s}/{ASSIGNMENT} #{ids[s]}: (?:graded|recorded before)", log)
        assert len(lines) == 1, (s, lines)
    from autograder.record.gradebook import CourseGradebook
    with CourseGradebook(root) as book:
        held = book.submissions()
    assert sorted(s for s, _ in held) == sorted(students)


# -- the policy and the queue alone (no service) ----------------------------------------------

def test_a_bad_policy_is_refused_naming_the_key():
    from traitlets.config import Config
    for given, words in [({"*": {"atempts": 3}}, "unknown atempts"),
                         ({"*": {"show": "all"}}, "show is 'all'"),
                         ({"*": {"attempts": 0}}, "attempts is 0"),
                         ({"02_other": {}}, "'02_other', which is not released"),
                         ({"*": {"deadline": "next friday"}}, "YYYY-MM-DD HH:MM")]:
        config = Config()
        config.AutogradeServe.policies = given
        with pytest.raises(PolicyError, match=re.escape(words)):
            policies(config, ["01_locality"])
    config = Config()
    config.AutogradeServe.policies = {"*": {"attempts": 2}, "01_locality": {"counts": "best"}}
    found = policies(config, ["01_locality", "02_cross_correlation"])
    assert found["01_locality"] == Policy(attempts=2, counts="best")
    assert found["02_cross_correlation"] == Policy(attempts=2)
    assert policies(Config(), ["01_locality"])["01_locality"] == Policy()


def _accept(queue, student, policy, now, key=None):
    return queue.accept(student, "a", key or f"{student}-{now}", student,
                        lambda folder: folder.mkdir(parents=True, exist_ok=True), policy, now=now)


def test_interval_and_deadline_are_kept_by_the_queue(tmp_path):
    from datetime import datetime, timezone
    queue = Queue(tmp_path / "queue.db")
    every_minute = Policy(attempts=None, interval=60)
    _accept(queue, "s", every_minute, now=1000.0)
    with pytest.raises(Refused, match="try again in 30 s") as refused:
        _accept(queue, "s", every_minute, now=1030.0)
    assert refused.value.status == 429
    _accept(queue, "s", every_minute, now=1061.0)
    _accept(queue, "t", every_minute, now=1030.0)   # another student's clock
    deadline = datetime.fromtimestamp(2000, timezone.utc).replace(tzinfo=None)
    with pytest.raises(Refused, match="has passed") as refused:
        _accept(queue, "s", Policy(deadline=deadline), now=2001.0)
    assert refused.value.status == 403
    row, new = _accept(queue, "s", Policy(deadline=deadline, after_deadline="late"), now=2001.0)
    assert new and row["late"]
    row, new = _accept(queue, "s", Policy(deadline=deadline), now=1999.0)
    assert new and not row["late"]


def test_last_or_best_decides_which_submission_counts(tmp_path):
    queue = Queue(tmp_path / "queue.db")
    rows = [_accept(queue, "s", Policy(attempts=None), now=float(n))[0] for n in range(3)]
    best, last = Policy(counts="best"), Policy(counts="last")
    assert queue.counts(rows[0], 5.0, best)
    queue.finish(rows[0]["id"], "done", {}, True, 5.0, 10.0)
    assert not queue.counts(rows[1], 4.0, best) and queue.counts(rows[1], 6.0, best)
    queue.finish(rows[2]["id"], "done", {}, True, 1.0, 10.0)   # the last one, graded first
    assert not queue.counts(rows[1], 9.0, last)                # an earlier one does not replace it
