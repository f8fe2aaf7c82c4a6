"""`make hub`: the course's JupyterHub on http://127.0.0.1:8000 for a try-out (as root), with an
instructor and three students (system users, passwords printed), the environments hard-linked
from the repository's .venv and the wheels of `make dist`, and the grading service
`autograde serve` (docs/serve.md) as a hub service on port 8787. Ctrl-C, or `make hub-stop` from
another shell, stops the hub and every user's server and removes the users and ROOT.

    python deploy/tryout.py start|stop
"""
import os
import secrets
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import setup_course

ROOT = Path("/opt/cnn-basics-tryout")
INSTRUCTOR = "cnb-instructor"
STUDENTS = ["cnb-student1", "cnb-student2", "cnb-student3"]
GROUPS = "cnb-tryout"
PROXY = setup_course.REPO / ".venv" / "chp" / "node_modules" / ".bin" / "configurable-http-proxy"
URL = "http://127.0.0.1:8000"


def start_hub(settings, log, url):
    """JupyterHub with deploy/jupyterhub_config.py and ``settings`` (a course.json path),
    its output to ``log`` (a file); returns the process once ``url`` answers."""
    hub = subprocess.Popen(
        [sys.executable, "-m", "jupyterhub", "-f", Path(__file__).parent / "jupyterhub_config.py"],
        cwd=Path(settings).parent / "hub", stdout=log, stderr=subprocess.STDOUT,
        env={"PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
             "COURSE_HUB_SETTINGS": str(settings), "LANG": "C.UTF-8"})
    deadline = time.monotonic() + 120
    while True:
        try:
            urllib.request.urlopen(f"{url}/hub/api", timeout=2)
            return hub
        except OSError:
            if hub.poll() is not None or time.monotonic() > deadline:
                stop_hub(hub)
                raise RuntimeError(f"JupyterHub did not start; see {log.name}")
            time.sleep(0.5)


def stop_hub(hub):
    """Stop JupyterHub (SIGTERM: it stops the users' servers and its proxy first)."""
    if hub.poll() is None:
        hub.terminate()
        try:
            hub.wait(timeout=60)
        except subprocess.TimeoutExpired:
            hub.kill()
            hub.wait()


def _interrupt(*_):
    raise KeyboardInterrupt   # `make hub-stop` (SIGTERM) stops the try-out as Ctrl-C does


def start():
    if ROOT.exists():
        sys.exit(f"{ROOT} exists: a try-out is running (make hub-stop) or was not cleaned up")
    passwords = {name: secrets.token_urlsafe(9) for name in [INSTRUCTOR, *STUDENTS]}
    users = list(passwords)
    signal.signal(signal.SIGTERM, _interrupt)
    try:
        setup_course.setup(ROOT, setup_course.REPO / "dist", INSTRUCTOR, STUDENTS, passwords,
                           seed=setup_course.REPO / ".venv", homes=ROOT / "home",
                           groups_prefix=GROUPS, proxy=str(PROXY), bind_url=URL,
                           serve={"port": 8787})
        (ROOT / "tryout.pid").write_text(str(os.getpid()))
        with open(ROOT / "hub" / "jupyterhub.log", "w") as log:
            hub = start_hub(ROOT / "course.json", log, URL)
            try:
                print(f"\nThe course's JupyterHub: {URL}  (log: {log.name})")
                for name, password in passwords.items():
                    role = "instructor" if name == INSTRUCTOR else "student"
                    print(f"  {role:10} {name:14} password {password}")
                print("Ctrl-C or `make hub-stop` stops it and removes these users.\n", flush=True)
                hub.wait()
            finally:
                stop_hub(hub)
    except KeyboardInterrupt:
        pass
    finally:
        setup_course.teardown(ROOT, users, GROUPS)
        print("The try-out hub is stopped; its users and", ROOT, "are removed.")


def stop():
    pid_file = ROOT / "tryout.pid"
    if not pid_file.exists():
        sys.exit("no try-out hub is running")
    pid = int(pid_file.read_text())
    os.kill(pid, signal.SIGTERM)
    while ROOT.exists():
        time.sleep(0.5)


if __name__ == "__main__":
    {"start": start, "stop": stop}[sys.argv[1]]()
