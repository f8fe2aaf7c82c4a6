"""Set up one course on a machine for its JupyterHub (run as root): the two environments, the
users and groups, nbgrader's exchange, the instructor's course directory and everyone's
nbgrader configuration. docs/deploy.md explains each step; `make hub` and tests/test_hub.py
use it for a try-out on loopback.

    python deploy/setup_course.py ROOT --wheels dist/ [--seed .venv] --instructor NAME --students A B C

Layout (ROOT is e.g. /opt/cnn-basics):

    ROOT/envs/student      the students' environment (course-cnn-basics), mode 755
    ROOT/envs/instructor   the instructors' environment (cnn-basics-grader), mode 750, group GROUP-instructors
    ROOT/exchange          nbgrader's exchange, mode 1777 (nbgrader makes each course's inbound 2733)
    ROOT/hub               JupyterHub's state (database, cookie secret), mode 700
    ROOT/course.json       what deploy/jupyterhub_config.py reads
    ~instructor/cnn-basics the course directory (source/, release/, gradebook), mode 700
"""
import argparse
import importlib.metadata
import json
import os
import pwd
import shutil
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
COURSE_ID = "cnn-basics"
#: A Python every user may run (the repository's venv may be built on one under /root).
SYSTEM_PYTHON = "/usr/bin/python3"
#: What the instructor's course directory holds of the repository.
COURSE_FILES = ["nbgrader_config.py", "source", "release"]
#: The repository's own distributions: never seeded from its development venv.
OWN = ("__editable__", "cnn_basics_", "course_cnn_basics", "course", "autograder")


def run(*argv, **kw):
    return subprocess.run([str(arg) for arg in argv], check=True, **kw)


def wheel(wheels, name):
    """The one wheel of distribution ``name`` (its file-name prefix) in folder ``wheels``."""
    found = sorted(Path(wheels).glob(f"{name}-*.whl"))
    if len(found) != 1:
        sys.exit(f"expected one {name} wheel in {wheels}, found {found or 'none'}: run `make dist`")
    return found[0]


def environment(prefix, wheel_file, seed=None):
    """A venv at ``prefix`` on the system Python with ``wheel_file`` installed. Without
    ``seed`` pip installs the wheel's dependencies (torch, JupyterLab, nbgrader...) from the
    package index, then d2l 1.0.3 with --no-deps (its 2023 pins cannot install on Python 3.12+
    and would downgrade numpy/matplotlib). With ``seed`` (a venv of the same Python version
    holding them, e.g. the repository's .venv) its packages are hard-linked instead, minus
    this repository's own, which come only from the wheel: a try-out in seconds."""
    prefix = Path(prefix)
    run(SYSTEM_PYTHON, "-m", "venv", "--without-pip", prefix)
    python = prefix / "bin" / "python"
    pip = [sys.executable, "-m", "pip", "--python", python, "install", "--quiet",
           "--disable-pip-version-check"]
    if seed is None:
        run(*pip, f"{wheel_file}[hub]" if "course_cnn_basics" in wheel_file.name else wheel_file)
        run(*pip, "--no-deps", "d2l==1.0.3")
        return
    site = _site_packages(prefix)
    seed_site = _site_packages(Path(seed))
    for entry in seed_site.iterdir():
        if not entry.name.startswith(OWN) and entry.name != "__pycache__":
            run("cp", "-al", entry, site / entry.name)
    for data in ("share", "etc"):
        if (Path(seed) / data).is_dir():
            run("cp", "-al", Path(seed) / data, prefix)
    _console_scripts(prefix, site)
    unsupported = _unsupported(python, site)
    if unsupported:   # pip picks, by name, a version that runs on the system Python
        run(*pip, "--no-deps", "--force-reinstall", *unsupported)
    run(*pip, "--no-deps", "--no-index", wheel_file)


def _unsupported(python, site):
    """The seeded distributions whose Requires-Python excludes ``python`` (soupsieve 4 needs
    3.11.5, Debian 12's is 3.11.2: nbconvert's HTML export, hence the formgrader and
    generate_feedback, then fail)."""
    from packaging.specifiers import SpecifierSet
    version = subprocess.run([str(python), "-c", "import platform; print(platform.python_version())"],
                             check=True, capture_output=True, text=True).stdout.strip()
    return sorted(dist.metadata["Name"] for dist in importlib.metadata.distributions(path=[str(site)])
                  if version not in SpecifierSet(dist.metadata.get("Requires-Python") or ""))


def _site_packages(prefix):
    return next((prefix / "lib").glob("python3*/site-packages"))


def _console_scripts(prefix, site):
    """The console scripts (jupyterhub-singleuser, nbgrader, alembic...) of the seeded
    distributions, run by ``prefix``'s Python."""
    for dist in importlib.metadata.distributions(path=[str(site)]):
        for entry in dist.entry_points.select(group="console_scripts"):
            module, _, attribute = entry.value.partition(":")
            script = prefix / "bin" / entry.name
            script.write_text(f"#!{prefix}/bin/python\nimport sys\nfrom {module} import "
                              f"{attribute.split('.')[0]}\nsys.exit({attribute}())\n")
            script.chmod(0o755)


def group(name, members=()):
    if subprocess.run(["getent", "group", name], capture_output=True).returncode:
        run("groupadd", name)
    for member in members:
        run("usermod", "-a", "-G", name, member)


def user(name, homes, groups, password):
    """A system user ``name`` with its home under ``homes`` (mode 700), in ``groups``."""
    try:
        pwd.getpwnam(name)
    except KeyError:
        run("useradd", "--create-home", "--home-dir", Path(homes) / name, "--shell", "/bin/bash",
            "--groups", ",".join(groups), name)
    run("chpasswd", input=f"{name}:{password}\n".encode())
    Path(pwd.getpwnam(name).pw_dir).chmod(0o700)


def nbgrader_config(name, exchange, course_dir=None):
    """``~name/.jupyter/nbgrader_config.py``: the course and the exchange (and, for an
    instructor, the course directory the formgrader and nbgrader commands use)."""
    entry = pwd.getpwnam(name)
    folder = Path(entry.pw_dir) / ".jupyter"
    folder.mkdir(exist_ok=True)
    lines = ["c = get_config()  # noqa: F821", f"c.CourseDirectory.course_id = {COURSE_ID!r}",
             f"c.Exchange.root = {str(exchange)!r}"]
    if course_dir:
        lines.append(f"c.CourseDirectory.root = {str(course_dir)!r}")
    (folder / "nbgrader_config.py").write_text("\n".join(lines) + "\n")
    for path in (folder, folder / "nbgrader_config.py"):
        os.chown(path, entry.pw_uid, entry.pw_gid)


def course_directory(instructor):
    """The instructor's copy of the course (mode 700): source/ and release/ and the course's
    nbgrader_config.py; the gradebook, submissions and feedback appear there."""
    entry = pwd.getpwnam(instructor)
    course = Path(entry.pw_dir) / COURSE_ID
    course.mkdir(exist_ok=True)
    for name in COURSE_FILES:
        source = REPO / name
        if source.is_dir():
            shutil.copytree(source, course / name, dirs_exist_ok=True,
                            ignore=shutil.ignore_patterns("__pycache__", ".ipynb_checkpoints"))
        else:
            shutil.copy2(source, course / name)
    run("chown", "-R", f"{entry.pw_uid}:{entry.pw_gid}", course)
    course.chmod(0o700)
    return course


def grading_service(instructor, course, env, port=8787, workers=None):
    """The hub service ``autograde`` (docs/serve.md) and its role: ``autograde serve --hub``
    on ``port``, started and stopped by the hub, run as the ``instructor`` (it writes the
    course directory) from the instructors' environment ``env``. The hub checks the tokens
    sent to it (a student's server token names the student); the hub group ``instructors``
    (deploy/jupyterhub_config.py) are its graders."""
    command = [str(Path(env) / "bin" / "autograde"), "serve", "--hub", "--course", str(course)]
    if workers:
        command += ["--workers", str(workers)]
    service = {"name": "autograde", "url": f"http://127.0.0.1:{port}", "command": command,
               "user": instructor, "cwd": str(course),
               "environment": {"PATH": f"{env}/bin:/usr/bin:/bin", "MPLBACKEND": "Agg"}}
    role = {"name": "autograde-service", "services": ["autograde"],
            "scopes": ["read:groups", "read:users:groups"]}
    return service, role


def setup(root, wheels, instructor, students, passwords, *, seed=None, homes="/home",
          groups_prefix=COURSE_ID, proxy=None, bind_url="http://127.0.0.1:8000", ports=None,
          serve=None):
    """Everything above; returns the settings written to ROOT/course.json (``ports``: e.g.
    ``{"hub_port": 8081, "proxy_api_port": 8001}``, JupyterHub's defaults; ``serve``: the
    grading service's ``grading_service`` options, e.g. ``{"port": 8787}``, or None)."""
    root = Path(root)
    root.mkdir(parents=True, exist_ok=True)
    root.chmod(0o755)
    instructors, learners = f"{groups_prefix}-instructors", f"{groups_prefix}-students"
    group(instructors)
    group(learners)
    Path(homes).mkdir(parents=True, exist_ok=True)
    user(instructor, homes, [instructors], passwords[instructor])
    for name in students:
        user(name, homes, [learners], passwords[name])
    envs = root / "envs"
    envs.mkdir(exist_ok=True)
    for role, name in (("student", "course_cnn_basics"), ("instructor", "cnn_basics_grader")):
        if not (envs / role / "bin" / "python").exists():
            environment(envs / role, wheel(wheels, name), seed)
    run("chgrp", instructors, envs / "instructor")
    (envs / "instructor").chmod(0o750)
    exchange = root / "exchange"
    exchange.mkdir(exist_ok=True)
    exchange.chmod(0o1777)
    (root / "hub").mkdir(exist_ok=True)
    (root / "hub").chmod(0o700)
    course = course_directory(instructor)
    nbgrader_config(instructor, exchange, course)
    for name in students:
        nbgrader_config(name, exchange)
    settings = {"course_id": COURSE_ID, "root": str(root), "exchange": str(exchange),
                "envs": {role: str(envs / role) for role in ("student", "instructor")},
                "groups": {"instructors": instructors, "students": learners},
                "course_directory": str(course), "proxy": proxy, "bind_url": bind_url,
                "services": [], "roles": [], **(ports or {})}
    if serve is not None:
        service, role = grading_service(instructor, course, envs / "instructor", **serve)
        settings["services"].append(service)
        settings["roles"].append(role)
    (root / "course.json").write_text(json.dumps(settings, indent=2))
    return settings


def teardown(root, users, groups_prefix=COURSE_ID):
    """Remove what :func:`setup` made: the users (and their homes), the groups, ROOT."""
    for name in users:
        subprocess.run(["pkill", "-KILL", "-u", name], capture_output=True)
        subprocess.run(["userdel", "--remove", name], capture_output=True)
    for kind in ("instructors", "students"):
        subprocess.run(["groupdel", f"{groups_prefix}-{kind}"], capture_output=True)
    shutil.rmtree(root, ignore_errors=True)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--wheels", type=Path, default=REPO / "dist")
    parser.add_argument("--seed", type=Path, help="a venv to hard-link the dependencies from")
    parser.add_argument("--instructor", required=True)
    parser.add_argument("--students", nargs="+", required=True)
    parser.add_argument("--homes", default="/home")
    args = parser.parse_args(argv)
    import secrets
    passwords = {name: secrets.token_urlsafe(9) for name in [args.instructor, *args.students]}
    setup(args.root, args.wheels, args.instructor, args.students, passwords, seed=args.seed,
          homes=args.homes)
    for name, password in passwords.items():
        print(f"{name}\t{password}")


if __name__ == "__main__":
    main()
