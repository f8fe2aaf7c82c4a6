"""The command line of the grading service (docs/serve.md):

    autograde serve [--course DIR] [--out OUT] [--state DIR] [--port 8787] [--workers N]
                    [--timeout SECONDS] [--db URL] [--isolation ...] (--tokens FILE | --hub)
    autograde serve token USER [--grader] --tokens FILE     (prints USER's new token)
"""
import argparse
import asyncio
import json
import logging
import os
import signal
import sys
from pathlib import Path

import tornado.netutil
from tornado.httpserver import HTTPServer

from autograder import GraderError
from autograder.serve import identity
from autograder.serve.service import Service
from autograder.serve.web import MAX_BODY, application


def parser():
    from autograder import coursedir
    from autograder.engine import isolation
    parser = argparse.ArgumentParser(
        prog="autograde serve",
        description="Grade each submission as it arrives, with warm workers; students see the "
                    "hidden tests' verdicts in seconds (docs/serve.md). "
                    "`autograde serve token USER --tokens FILE` issues a token.")
    coursedir.course_dir(parser)
    parser.add_argument("--out", metavar="OUT",
                        help="autograde's OUT folder (default: <course>/out, as the "
                             "formgrader's Autograde button uses)")
    parser.add_argument("--state", metavar="DIR",
                        help="the queue and the submissions received (default: <course>/serve)")
    parser.add_argument("--ip", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8787, help="0: any free port")
    parser.add_argument("--workers", type=coursedir.positive(int), default=os.cpu_count())
    parser.add_argument("--timeout", type=coursedir.positive(float), default=30.0, metavar="SECONDS",
                        help="wall time allowed per cell and per test cell (default: 30)")
    parser.add_argument("--db", type=coursedir.db_url_argument, metavar="URL")
    parser.add_argument("--isolation", choices=isolation.CHOICES, default="auto")
    who = parser.add_mutually_exclusive_group(required=True)
    who.add_argument("--tokens", metavar="FILE",
                     help="the users' tokens (issued with `autograde serve token`)")
    who.add_argument("--hub", action="store_true",
                     help="run as a JupyterHub service: the hub checks the tokens")
    parser.add_argument("--graders-group", default="instructors",
                        help="with --hub: the hub group whose members see everyone's "
                             "submissions (default: instructors)")
    return parser


def token_main(argv):
    parser = argparse.ArgumentParser(prog="autograde serve token",
                                     description="Issue a user's token (prints it; their "
                                                 "earlier token stops working).")
    parser.add_argument("user")
    parser.add_argument("--grader", action="store_true",
                        help="an instructor or TA: sees and submits for everyone, no limits")
    parser.add_argument("--tokens", required=True, metavar="FILE")
    args = parser.parse_args(argv)
    try:
        print(identity.Tokens(args.tokens).issue(args.user, args.grader))
    except ValueError as error:
        print(f"autograde serve token: error: {error}", file=sys.stderr)
        return 1
    return 0


def main(argv):
    if argv[:1] == ["token"]:
        return token_main(argv[1:])
    args = parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(asctime)s autograde serve: %(message)s")
    logging.getLogger("autograde.serve").setLevel(logging.INFO)
    course = Path(args.course).resolve()
    state = Path(args.state or course / "serve")
    state.mkdir(parents=True, exist_ok=True)
    try:
        users = identity.Hub(args.graders_group) if args.hub else identity.Tokens(args.tokens)
    except (RuntimeError, ValueError) as error:
        print(f"autograde serve: error: {error}", file=sys.stderr)
        return 2
    from autograder.run import lifecycle
    from autograder.engine import isolation
    try:
        layer = lifecycle.start_local_grading(args.isolation)
    except isolation.Unavailable as error:
        print(f"autograde serve: error: {error}", file=sys.stderr)
        return 1
    try:
        service = Service(course, args.out or course / "out", state, db_url=args.db,
                          workers=args.workers, cell_timeout=args.timeout, isolation=layer)
        return asyncio.run(_serve(service, identity.Identities(users, state / "instructor.token"),
                                  args))
    except GraderError as error:
        print(f"autograde serve: error: {error}", file=sys.stderr)
        return 1


async def _serve(service, identities, args):
    prefix, ip, port = "/", args.ip, args.port
    if args.hub:   # the hub says where: JUPYTERHUB_SERVICE_URL and _PREFIX
        from urllib.parse import urlsplit
        url = urlsplit(os.environ.get("JUPYTERHUB_SERVICE_URL", f"http://{ip}:{port}"))
        ip, port = url.hostname, url.port
        prefix = os.environ.get("JUPYTERHUB_SERVICE_PREFIX", "/").rstrip("/") + "/"
    await service.start()
    server = HTTPServer(application(service, identities, prefix), max_body_size=MAX_BODY)
    sockets = tornado.netutil.bind_sockets(port, ip)
    server.add_sockets(sockets)
    port = sockets[0].getsockname()[1]
    url = f"http://{ip}:{port}{prefix}"
    identity.write_private(service.state / "service.json",
                           json.dumps({"url": url, "pid": os.getpid()}))
    print(f"autograde serve: listening on {url}", file=sys.stderr, flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signum, stop.set)
    stopped = asyncio.ensure_future(stop.wait())
    await asyncio.wait([stopped, service.warming], return_when=asyncio.FIRST_COMPLETED)
    failed = service.warming.done() and service.warming.exception()
    if not failed:
        await stopped
    server.stop()
    (service.state / "service.json").unlink(missing_ok=True)
    await service.stop()
    if failed:
        raise failed
    print("autograde serve: stopped", file=sys.stderr, flush=True)
    return 0
