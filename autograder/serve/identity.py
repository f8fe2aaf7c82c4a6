"""Who sends a request to the grading service: a token (``Authorization: token <token>``,
as JupyterHub's API) names a user, and whether they are a grader (sees and submits for
everyone, no policy limits) or a student (only themselves).

- ``Tokens``: outside a hub, the tokens the instructor issues (``autograde serve token USER``),
  kept in a JSON file as their sha256 (the token itself is printed once);
- ``Hub``: inside JupyterHub, a hub service: the token is checked by the hub (jupyterhub's
  ``HubAuth``, with the service's ``JUPYTERHUB_API_TOKEN``); graders are the members of a hub
  group (default ``instructors``) and the hub's admins;
- the service's own instructor token (``<state>/instructor.token``, readable by the
  instructor's account only), for ``nbgrader autograde`` and the formgrader
  (``autograder.serve.client``).
"""
import hashlib
import hmac
import json
import os
import secrets
import time
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class User:
    name: str
    grader: bool = False


def _hash(token):
    return hashlib.sha256(token.encode()).hexdigest()


def write_private(path, text):
    """Write ``text`` to ``path``, readable by this user only (made so before it holds it)."""
    path = Path(path)
    partial = path.with_name(path.name + ".partial")
    descriptor = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(descriptor, "w") as file:
        file.write(text)
    os.replace(partial, path)


class Tokens:
    """The instructor-issued tokens in the JSON file ``path``: ``{sha256: {user, grader}}``."""

    def __init__(self, path):
        self.path = Path(path)
        try:
            self.users = json.loads(self.path.read_text()) if self.path.exists() else {}
        except ValueError:
            raise ValueError(f"{self.path} is not a tokens file (JSON written by `autograde "
                             "serve token`): move it away and issue the tokens again") from None

    def who(self, token):
        entry = self.users.get(_hash(token))
        return User(entry["user"], entry["grader"]) if entry else None

    def issue(self, user, grader=False):
        """A new token for ``user`` (their earlier ones stop working); saved, and returned."""
        token = secrets.token_urlsafe(24)
        self.users = {h: e for h, e in self.users.items() if e["user"] != user}
        self.users[_hash(token)] = {"user": user, "grader": grader}
        write_private(self.path, json.dumps(self.users, indent=1))
        return token


class Hub:
    """Tokens checked by JupyterHub (run as a hub service: ``JUPYTERHUB_API_TOKEN`` and
    ``JUPYTERHUB_API_URL`` set by the hub); graders: the hub group ``graders_group`` and admins."""

    def __init__(self, graders_group="instructors"):
        try:
            from jupyterhub.services.auth import HubAuth
        except ImportError:
            raise RuntimeError("--hub needs the jupyterhub package in this environment "
                               "(pip install jupyterhub)") from None
        if not os.environ.get("JUPYTERHUB_API_TOKEN"):
            raise RuntimeError("--hub: JUPYTERHUB_API_TOKEN is not set: start the service "
                               "from the hub (c.JupyterHub.services), see docs/serve.md")
        self.auth, self.graders_group = HubAuth(), graders_group
        self.members, self.asked = set(), float("-inf")

    def who(self, token):
        model = self.auth.user_for_token(token)
        if not model or model.get("kind", "user") != "user":
            return None
        groups = model.get("groups")
        if groups is None:   # the token may not show its groups: the service's own may
            groups = [self.graders_group] if model["name"] in self.graders() else []
        return User(model["name"], model.get("admin", False) or self.graders_group in groups)

    def graders(self):
        """The members of the graders' group, asked of the hub with the service's token
        (scope ``read:groups``) at most once a minute."""
        if time.monotonic() - self.asked > 60:
            import requests
            answer = requests.get(f"{self.auth.api_url.rstrip('/')}/groups/{self.graders_group}",
                                  headers={"Authorization": f"token {self.auth.api_token}"},
                                  timeout=10)
            self.members = set(answer.json().get("users", [])) if answer.ok else set()
            self.asked = time.monotonic()
        return self.members


class Identities:
    """Who a token names: the service's instructor token, else ``users`` (``Tokens``/``Hub``)."""

    def __init__(self, users, instructor_token_file):
        self.users = users
        self.instructor = secrets.token_urlsafe(24)
        write_private(instructor_token_file, self.instructor)

    def who(self, token):
        if not token:
            return None
        if hmac.compare_digest(token.encode(), self.instructor.encode()):
            return User("instructor", grader=True)
        return self.users.who(token)
