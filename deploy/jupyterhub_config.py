"""JupyterHub for one course (docs/deploy.md): students and instructors are system users (PAM
log-in, one process per user, LocalProcessSpawner); each role's JupyterLab runs from its own
environment. Reads the settings deploy/setup_course.py wrote: $COURSE_HUB_SETTINGS, by default
/opt/cnn-basics/course.json.

- students (group <course>-students): the students' environment (course-cnn-basics): the
  Assignment List (fetch, Validate, submit, fetch feedback); the formgrader, Course List and
  Create Assignment are off (lab plugins and server extensions, from that wheel's etc/jupyter).
- instructors and graders (group <course>-instructors): the instructors' environment
  (cnn-basics-grader): the formgrader at /user/<name>/formgrader, the course directory,
  `autograde`, nbgrader's commands in a terminal.
"""
import grp
import json
import os
from pathlib import Path

from jupyterhub.services.service import Service as HubService

c = get_config()  # noqa: F821 (provided by traitlets when jupyterhub loads this file)
course = json.loads(Path(os.environ.get("COURSE_HUB_SETTINGS", "/opt/cnn-basics/course.json"))
                    .read_text())
state = Path(course["root"]) / "hub"

c.JupyterHub.bind_url = course["bind_url"]
c.JupyterHub.hub_ip = "127.0.0.1"
c.JupyterHub.hub_port = course.get("hub_port", 8081)
c.ConfigurableHTTPProxy.api_url = f"http://127.0.0.1:{course.get('proxy_api_port', 8001)}"
c.JupyterHub.db_url = f"sqlite:///{state / 'jupyterhub.sqlite'}"
c.JupyterHub.cookie_secret_file = str(state / "jupyterhub_cookie_secret")
c.ConfigurableHTTPProxy.pid_file = str(state / "proxy.pid")
if course.get("proxy"):
    c.ConfigurableHTTPProxy.command = [course["proxy"]]

# Who may log in: the members of the course's two groups (system accounts, PAM passwords).
c.PAMAuthenticator.allowed_groups = set(course["groups"].values())
c.PAMAuthenticator.open_sessions = False


def instructors():
    return set(grp.getgrnam(course["groups"]["instructors"]).gr_mem)


# A hub group of the instructors, for hub services that must tell them apart (autograde serve)
c.JupyterHub.load_groups = {"instructors": {"users": sorted(instructors())}}


SERVICES = [service["name"] for service in course.get("services", [])]


def course_environment(spawner):
    """Run the user's JupyterLab from their role's environment, its bin/ first on PATH
    (nbgrader shells out to alembic); with the grading service, tell the students' notebooks
    where it is (``course.submit.check()`` sends their server's own token)."""
    role = "instructor" if spawner.user.name in instructors() else "student"
    env = Path(course["envs"][role])
    spawner.cmd = [str(env / "bin" / "jupyterhub-singleuser")]
    spawner.environment.update(PATH=f"{env / 'bin'}:/usr/local/bin:/usr/bin:/bin",
                               VIRTUAL_ENV=str(env), MPLBACKEND="Agg")
    if "autograde" in SERVICES:
        spawner.environment["AUTOGRADE_URL"] = f"{course['bind_url']}/services/autograde/"


c.Spawner.pre_spawn_hook = course_environment
c.Spawner.default_url = "/lab"
c.Spawner.notebook_dir = "~"
c.Spawner.start_timeout = 120   # a torch environment imports slowly on a busy machine
c.Spawner.http_timeout = 120

# Hub services of the course: course.json's "services" (JupyterHub's service dicts), e.g. the
# warm grading service `autograde serve --hub` (docs/serve.md; deploy/setup_course.py's
# grading_service), run as the instructor, with its role (read the groups) below.
c.JupyterHub.services = course.get("services", [])
if "timeout" in HubService.class_trait_names():   # jupyterhub 6: the seconds the hub waits for
    for service in c.JupyterHub.services:        # a service to answer (its start on a busy machine)
        service.setdefault("timeout", 120)
c.JupyterHub.load_roles = course.get("roles", [])
