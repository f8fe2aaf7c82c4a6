"""The grading service's HTTP API (tornado; JSON, ``Authorization: token <token>``, see
``identity``):

- ``POST api/submissions`` ``{"assignment", "notebooks": {stem: notebook}}`` (a grader may
  add ``"student"``, and ``"from_submitted": true`` to grade ``submitted/<student>/<assignment>``
  instead), header ``Idempotency-Key``: 202 with the submission; 429/403 when the policy refuses;
- ``GET api/submissions/<id>?wait=SECONDS``: the submission and, once graded, its verdict
  (the wait ends early when it is graded); a student sees only their own (404 otherwise);
- ``GET api/submissions?assignment=A[&student=S]``: a student's own, or everyone's for a grader;
- ``GET api/health``: ``{"ok": true, "warm": ...}``: it accepts submissions while its workers
  warm up (a hub waits for a service's answer at start), and grades them once warm.
"""
import json
import os

import tornado.web

from autograder.serve.queue import Refused

MAX_BODY = 32 << 20          # bytes of one request: a few notebooks with their outputs
WAIT_MAX = 60.0              # seconds a GET may wait for a verdict


class Handler(tornado.web.RequestHandler):
    def initialize(self, service, identities):
        self.service, self.identities = service, identities

    def prepare(self):
        header = self.request.headers.get("Authorization", "")
        scheme, _, token = header.partition(" ")
        self.user = self.identities.who(token.strip()) if scheme.lower() in (
            "token", "bearer") else None
        if self.user is None:
            self.fail(401, "no valid token: send `Authorization: token <your token>`")

    def fail(self, status, message):
        self.set_status(status)
        self.finish({"error": message})

    def visible(self, row):
        return row is not None and (self.user.grader or row["student"] == self.user.name)


class Submissions(Handler):
    def post(self):
        try:
            body = json.loads(self.request.body)
        except ValueError:
            return self.fail(400, "the request is not JSON")
        if not isinstance(body, dict):
            return self.fail(400, "the request must be a JSON object")
        key = self.request.headers.get("Idempotency-Key") or os.urandom(16).hex()
        try:
            row, new = self.service.accept(self.user, body, key[:200])
        except Refused as refused:
            return self.fail(refused.status, refused.message)
        self.set_status(202 if new else 200)
        self.finish(self.service.view(row))

    def get(self):
        student = self.get_argument("student", None)
        if not self.user.grader:
            if student not in (None, self.user.name):
                return self.fail(403, "you can read only your own submissions")
            student = self.user.name
        rows = self.service.queue.rows(student, self.get_argument("assignment", None))
        self.finish({"submissions": [self.service.view(row) for row in rows]})


class Submission(Handler):
    async def get(self, submission_id):
        row = self.service.queue.get(int(submission_id))
        if not self.visible(row):
            return self.fail(404, f"no submission {submission_id} of yours")
        try:
            wait = min(float(self.get_argument("wait", "0")), WAIT_MAX)
        except ValueError:
            return self.fail(400, "wait is a number of seconds")
        row = await self.service.wait(row["id"], wait)
        self.finish(self.service.view(row))


class Health(tornado.web.RequestHandler):
    def initialize(self, service):
        self.service = service

    def get(self):
        self.finish({"ok": True, "warm": self.service.warm})


def application(service, identities, prefix="/"):
    args = {"service": service, "identities": identities}
    return tornado.web.Application([
        (rf"{prefix}api/health", Health, {"service": service}),
        (rf"{prefix}api/submissions", Submissions, args),
        (rf"{prefix}api/submissions/(\d+)", Submission, args),
    ])
