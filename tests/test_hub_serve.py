"""The grading service inside the course's JupyterHub (issue 26), as it is used: the hub of
tests/test_hub.py with ``autograde serve --hub`` as a hub service (deploy/setup_course.py's
``grading_service``: started by the hub, run as the instructor, the hub checking every token).

A student logs in through the hub in Chromium and runs the one line in their notebook: the
verdict of a right, then a wrong answer shows in the notebook (points and messages, never
test code). Another student, from their own notebook (their server's hub token), can neither
read those results nor submit as them, and their parallel submissions get no more than the
policy's attempts. The instructor sees both students' grades in the formgrader and in
`autograde export`; the formgrader's Autograde button and `nbgrader autograde --student`
grade through the service (their times are printed, and written to
artifacts/hub_serve_timings.json). Run alone: ``pytest tests/test_hub_serve.py -s``.
"""
import csv
import json
import re
import time
import urllib.request
from pathlib import Path

import nbformat
import pytest

from tests.test_hub import (  # noqa: F401 (fixtures)
    ANSWERED, ARTIFACTS, INSTRUCTOR, NOTEBOOK, RIGHT, TIMEOUT, WRONG, answers, as_user,
    course_root, hidden_test_lines, hub, log_in, put, squeeze, student_env, wheels)

pytestmark = pytest.mark.slow
ATTEMPTS = 5           # the policy's default (autograder/serve/policy.py), not changed here
PARALLEL = 8           # the other student's simultaneous submissions
CHECK = "from course.submit import check; check()"


@pytest.fixture(scope="module")
def serve():
    """The hub runs the grading service, with one worker (the machine is shared)."""
    from tests.test_browser import free_port
    return {"port": free_port(), "workers": 1}


def service_url(hub):
    return f"{hub['url']}/services/autograde/"


def wait_until_up(hub, seconds=600):
    """Wait until the service answers through the hub's proxy, its workers warm."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            with urllib.request.urlopen(f"{service_url(hub)}api/health", timeout=5) as answer:
                if json.loads(answer.read()).get("warm"):
                    return
        except (OSError, ValueError):
            pass
        assert time.monotonic() < deadline, "the grading service did not come up: see hub.log"
        time.sleep(1)


def notebook_with_check(kind):
    """The chapter's release notebook with ``kind`` answers and the one line first (JupyterLab
    renders only the cells in view: the first is)."""
    from autograder.tools.submissions import fill
    from tests.test_hub import ROOT
    release = json.loads((ROOT / "release" / ANSWERED / f"{NOTEBOOK}.ipynb").read_text())
    nb = nbformat.from_dict(fill(release, answers(kind)))
    nb.cells.insert(0, nbformat.v4.new_code_cell(CHECK))
    return nb


def save(page, name, path, nb):
    """Save ``nb`` at ``path`` in ``name``'s home through their server (its folder made)."""
    folder = path.rpartition("/")[0]
    if folder:
        status = page.evaluate("""async url => {
            const xsrf = document.cookie.match(/_xsrf=([^;]*)/)[1];
            const r = await fetch(url, {method: "PUT", headers: {"X-XSRFToken": xsrf,
                "Content-Type": "application/json"}, body: JSON.stringify({type: "directory"})});
            return r.status; }""", f"/user/{name}/api/contents/{folder}")
        assert status in (200, 201), status
    put(page, f"/user/{name}/api/contents/{path}", nb)


def run_first_cell(page, shot):
    """Run the notebook's first cell (Shift-Enter) and return its output's text once shown."""
    cell = page.locator(".jp-Notebook .jp-Cell").first
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")
    output = cell.locator(".jp-OutputArea-output")
    output.filter(has_text=re.compile("points|Not checked|Still being graded")).first.wait_for()
    page.screenshot(path=str(ARTIFACTS / f"hub_serve_{shot}.png"))
    return output.first.inner_text()


def open_notebook(page, hub, name, path):
    page.goto(f"{hub['url']}/user/{name}/lab/tree/{path}")
    page.locator(".jp-Notebook .jp-Cell").first.wait_for()
    page.get_by_text("Python 3 (ipykernel) | Idle").wait_for()


def reload_from_disk(page):
    """File > Reload Notebook from Disk (confirming: running the cell changed the notebook)."""
    page.locator(".lm-MenuBar-itemLabel", has_text="File").click()
    page.locator(".lm-Menu-itemLabel", has_text="Reload Notebook from Disk").click()
    confirm = page.locator(".jp-Dialog-button", has_text="Reload")
    try:
        confirm.click(timeout=5_000)
    except Exception:  # noqa: BLE001 (no dialog: the notebook was not changed)
        pass
    page.locator(".jp-Notebook .jp-Cell").first.locator(".jp-OutputArea-output").wait_for(
        state="detached")


def score(text):
    """(score, max_score) of the headline a verdict shows."""
    found = re.search(rf"{ANSWERED}: ([\d.]+)/([\d.]+) points", text)
    assert found, text
    return float(found[1]), float(found[2])


PROBE = """
import json, os, uuid
from concurrent.futures import ThreadPoolExecutor
from course.submit import ServiceError, request
url, token = os.environ["AUTOGRADE_URL"], os.environ["JUPYTERHUB_API_TOKEN"]
nb = json.load(open("ASSIGNMENT/NOTEBOOK.ipynb"))
def tell(what, call):
    try:
        print(what, "ALLOWED", str(call())[:300])
    except ServiceError as error:
        print(what, "REFUSED", error.status, error)
tell("read theirs", lambda: request("GET", f"{url}api/submissions/ID", token, tries=1))
tell("list theirs", lambda: request("GET", f"{url}api/submissions?student=VICTIM", token, tries=1))
tell("submit as them", lambda: request("POST", f"{url}api/submissions", token, {
    "assignment": "ASSIGNMENT", "student": "VICTIM", "notebooks": {"NOTEBOOK": nb}}, tries=1))
def one(_):
    try:
        return request("POST", f"{url}api/submissions", token, {"assignment": "ASSIGNMENT",
                       "notebooks": {"NOTEBOOK": nb}}, key=uuid.uuid4().hex, tries=1)["id"]
    except ServiceError as error:
        return error.status
print("parallel", json.dumps(list(ThreadPoolExecutor(PARALLEL).map(one, range(PARALLEL)))))
"""


def probe(page, hub, victim_id):
    """From the other student's own notebook: read, list and submit as the victim, then
    PARALLEL submissions of their own (right answers) at once. Returns the output's text."""
    code = (PROBE.replace("ASSIGNMENT", ANSWERED).replace("NOTEBOOK", NOTEBOOK)
            .replace("VICTIM", RIGHT).replace("ID", str(victim_id))
            .replace("PARALLEL", str(PARALLEL)))
    save(page, WRONG, f"{ANSWERED}/{NOTEBOOK}.ipynb", notebook_with_check("right"))
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(code.strip())], metadata={
        "kernelspec": {"name": "python3", "display_name": "Python 3 (ipykernel)",
                       "language": "python"}})
    save(page, WRONG, "probe.ipynb", nb)
    open_notebook(page, hub, WRONG, "probe.ipynb")
    cell = page.locator(".jp-Notebook .jp-Cell").first
    cell.locator(".jp-InputArea-editor").click()
    page.keyboard.press("Shift+Enter")
    output = cell.locator(".jp-OutputArea-output", has_text="parallel")
    output.wait_for()
    page.screenshot(path=str(ARTIFACTS / "hub_serve_other_student.png"))
    return output.inner_text()


def hub_token(page, hub, name):
    """A new hub API token of ``name`` (logged in on ``page``), as the hub's Token page
    makes one."""
    context = page.context
    xsrf = next(c["value"] for c in context.cookies(hub["url"] + "/hub/") if c["name"] == "_xsrf")
    answer = context.request.post(f"{hub['url']}/hub/api/users/{name}/tokens",
                                  headers={"X-XSRFToken": xsrf, "Referer": f"{hub['url']}/hub/"},
                                  data={"note": "test"})
    assert answer.ok, answer.text()
    return answer.json()["token"]


def test_a_student_checks_in_the_hub_and_the_instructor_sees_it_everywhere(hub):
    from playwright.sync_api import sync_playwright
    from tests.test_browser import CHROMIUM, CHROMIUM_ARGS
    from course.submit import request
    ARTIFACTS.mkdir(exist_ok=True)
    course = Path(hub["course_directory"])
    timings = {}
    started = time.monotonic()
    wait_until_up(hub)
    timings["service_up_s"] = round(time.monotonic() - started, 1)
    path = f"{ANSWERED}/{NOTEBOOK}.ipynb"
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            # a student: right, then wrong, each checked with the one line in the notebook
            page = log_in(browser, hub, RIGHT)
            save(page, RIGHT, path, notebook_with_check("right"))
            open_notebook(page, hub, RIGHT, path)
            shown = {}
            for kind in ("right", "wrong"):
                if kind == "wrong":
                    save(page, RIGHT, path, notebook_with_check("wrong"))
                    reload_from_disk(page)
                clicked = time.monotonic()
                shown[kind] = run_first_cell(page, kind)
                timings[f"check_{kind}_s"] = round(time.monotonic() - clicked, 2)
            right, wrong = score(shown["right"]), score(shown["wrong"])
            assert right[0] == right[1] > 0, shown["right"]
            assert wrong[0] < wrong[1] == right[1], shown["wrong"]
            assert "checked submission 1 of 5" in shown["right"], shown["right"]
            assert "checked submission 2 of 5" in shown["wrong"], shown["wrong"]
            assert "\u2718" in shown["wrong"] and "\u2718" not in shown["right"]
            for text in shown.values():   # messages and points, never the tests' code
                assert "assert" not in text and "BEGIN HIDDEN" not in text, text
                assert not [line for line in hidden_test_lines() if line in squeeze(text)], text

            # the instructors' group sees everyone's (a hub token of the instructor's)
            teacher = log_in(browser, hub, INSTRUCTOR)
            teachers = hub_token(teacher, hub, INSTRUCTOR)
            listed = request("GET", f"{service_url(hub)}api/submissions?assignment={ANSWERED}",
                             teachers)["submissions"]
            mine = [row for row in listed if row["student"] == RIGHT]
            assert [r["verdict"]["score"] for r in mine] == [right[0], wrong[0]], listed

            # another student, from their own notebook: refused; the limit holds in parallel
            other = log_in(browser, hub, WRONG)
            text = probe(other, hub, mine[0]["id"])
            assert re.search(r"read theirs REFUSED 404", text), text
            assert re.search(r"list theirs REFUSED 403", text), text
            assert re.search(r"submit as them REFUSED 403", text), text
            statuses = json.loads(re.search(r"parallel (\[.*\])", text)[1])
            accepted = [s for s in statuses if s not in (403, 429)]
            assert len(accepted) == ATTEMPTS and statuses.count(429) == PARALLEL - ATTEMPTS, text
            listed = request("GET", f"{service_url(hub)}api/submissions?assignment={ANSWERED}",
                             teachers)["submissions"]
            assert sorted(r["id"] for r in listed if r["student"] == RIGHT) == \
                sorted(r["id"] for r in mine)   # nothing of the other's counted as theirs
            while any(r["state"] == "queued" for r in request(
                    "GET", f"{service_url(hub)}api/submissions?student={WRONG}",
                    teachers)["submissions"]):
                time.sleep(1)
            theirs = request("GET", f"{service_url(hub)}api/submissions/{max(accepted)}",
                             teachers)
            assert theirs["counted"] and theirs["verdict"]["score"] == right[0], theirs

            # the instructor: `nbgrader autograde --student` and the Autograde button, through
            # the service; the grades in the formgrader and in `autograde export`
            clock = time.monotonic()
            graded = as_user(hub, INSTRUCTOR, "nbgrader", "autograde", ANSWERED, "--student",
                             RIGHT, "--force")
            timings["nbgrader_autograde_student_s"] = round(time.monotonic() - clock, 2)
            log = (ARTIFACTS / "hub_commands.log").read_text()
            assert "by the running `autograde serve`" in log, log[-3000:]
            timings.update(autograde_button(teacher, hub))
            grades = formgrader_grades(teacher, hub)
            assert grades == {RIGHT: wrong[0], WRONG: right[0]}, grades   # the last counts
            as_user(hub, INSTRUCTOR, "autograde", "export", "--format", "csv", "--out",
                    "export.csv", "--assignment", ANSWERED)
            with open(course / "export.csv") as file:
                exported = list(csv.DictReader(file))
            (ARTIFACTS / "hub_serve_export.csv").write_text((course / "export.csv").read_text())
            assert {row["student_id"]: float(row["score"]) for row in exported} == \
                {RIGHT: wrong[0], WRONG: right[0]}, exported
        finally:
            browser.close()
    timings["test_s"] = round(time.monotonic() - started, 1)
    (ARTIFACTS / "hub_serve_timings.json").write_text(json.dumps(timings, indent=1))
    print("hub serve timings:", json.dumps(timings), graded[-200:])


def autograde_button(page, hub):
    """Click the formgrader's Autograde button of the first student's submission; the
    seconds from the click to its success message."""
    page.goto(f"{hub['url']}/user/{INSTRUCTOR}/formgrader/manage_submissions/{ANSWERED}")
    row = page.locator("tr", has_text=RIGHT).first
    button = row.locator(".autograde a")
    button.wait_for()
    clock = time.monotonic()
    button.click()
    modal = page.locator(".modal-body", has_text=re.compile("autograd"))
    modal.wait_for()
    seconds = round(time.monotonic() - clock, 2)
    page.screenshot(path=str(ARTIFACTS / "hub_serve_autograde_button.png"))
    assert "Successfully autograded" in modal.inner_text(), modal.inner_text()
    return {"formgrader_autograde_button_s": seconds}


def formgrader_grades(page, hub):
    """{student: score} on the formgrader's Manage Students page (one assignment graded)."""
    page.goto(f"{hub['url']}/user/{INSTRUCTOR}/formgrader/manage_students")
    page.locator("tr", has_text=RIGHT).first.wait_for()
    page.screenshot(path=str(ARTIFACTS / "hub_serve_formgrader_students.png"))
    answer = page.request.get(f"{hub['url']}/user/{INSTRUCTOR}/formgrader/api/students")
    assert answer.ok, answer.text()
    return {row["id"]: row["score"] for row in answer.json()}
