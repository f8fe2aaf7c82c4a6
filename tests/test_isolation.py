"""The isolation layers' pieces (issue 10), each as the grader's own user and as an
ordinary user (``tests/as_user.py``), and the probe's choice in each situation."""
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import pytest

from tests import as_user

PIECES = ["seccomp", "seccomp_strict_unix", "landlock", "userns", "sandbox_root", "reaper",
          "hidden_grader"]
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


SHOW = """import os, sys
from pathlib import Path
from tests import as_user
checkout = Path(sys.argv[1])
if sys.argv[2] == "show":
    as_user._show(as_user.hidden([checkout / "bin", checkout]))
as_user.become(as_user.ensure_user())
try:
    print((checkout / "bin" / "tool").read_text(), (checkout / "link").read_text(),
          *os.listdir(checkout.parent))
except PermissionError as error:
    print("denied", error.filename)
"""


@pytest.mark.skipif(os.geteuid() != 0, reason="root makes the folders others cannot enter")
def test_the_ordinary_user_reaches_a_checkout_in_a_folder_only_root_can_enter():
    """``make test`` from ``git clone . $(mktemp -d)`` as root: the clone is mode 700."""
    top = Path(tempfile.mkdtemp(prefix="autograde-hidden-"))
    checkout = top / "checkout"
    (checkout / "bin").mkdir(parents=True)
    (checkout / "bin" / "tool").write_text("tool")
    (checkout / "README").write_text("readme")
    (checkout / "link").symlink_to("README")
    (top / "secret").write_text("secret")
    checkout.chmod(0o700)
    try:
        assert as_user.hidden([checkout / "bin", checkout]) == {top: {"checkout"},
                                                                  checkout: None}
        assert as_user.hidden([checkout]) == {top: {"checkout"}, checkout: None}
        assert as_user.hidden([top / "secret"]) == {top: {"secret"}}
        seen = {how: subprocess.run([sys.executable, "-c", SHOW, str(checkout), how],
                                    capture_output=True, text=True, cwd=as_user.REPO,
                                    timeout=60) for how in ("show", "plain")}
        assert seen["show"].stdout.split() == ["tool", "readme", "checkout"], seen["show"]
        assert seen["plain"].stdout.split()[0] == "denied", seen["plain"]   # the control
        assert sorted(os.listdir(top)) == ["checkout", "secret"]   # root's view: unchanged
    finally:
        shutil.rmtree(top)
