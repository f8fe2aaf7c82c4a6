"""The isolation layers' pieces (issue 10), each as the grader's own user and as an
ordinary user (``tests/as_user.py``), and the probe's choice in each situation."""
import os
import subprocess
import sys

import pytest

from tests import as_user

PIECES = ["seccomp", "seccomp_strict_unix", "landlock", "userns", "sandbox_root", "reaper"]
IDENTITIES = ["self", "ordinary user"] if os.geteuid() == 0 else ["self"]


def run(argv, no_userns=False, no_landlock=False, ordinary=True):
    command = [sys.executable, "-m", "tests.isolation_checks", *argv]
    if ordinary:
        command = as_user.command(command, no_userns, no_landlock)
    result = subprocess.run(command, capture_output=True, text=True, timeout=120,
                            cwd=as_user.REPO)
    assert result.returncode == 0, result.stdout + result.stderr


@pytest.mark.parametrize("identity", IDENTITIES)
@pytest.mark.parametrize("piece", PIECES)
def test_piece(piece, identity):
    if piece == "userns" and identity == "self" and os.geteuid() == 0:
        pytest.skip("the user-namespace layer is an ordinary user's (root uses the root layer)")
    run([piece], ordinary=identity == "ordinary user")


def test_probe_picks_the_strongest_layer():
    run(["probe", "root" if os.geteuid() == 0 else "userns"], ordinary=False)
    run(["probe", "userns"])
    run(["probe", "landlock"], no_userns=True)


def test_probe_message_when_no_layer_can_be_set_up():
    run(["probe_message"], no_userns=True, no_landlock=True)
