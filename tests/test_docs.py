"""The documentation: the site builds with warnings as errors (its internal links and anchors
resolve, every docs/*.md page is in it), the README's links resolve, and every shell command in
the README's code blocks is run or parsed with ``--help``."""
import os
import re
import shlex
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from myst_parser.slugs import github_slugify

from autograder.coursedir import ROOT

DOCS = ROOT / "docs"
BIN = Path(sys.executable).parent
ENV = dict(os.environ, PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
LINK = re.compile(r"\[[^\]]*\]\(([^)\s]+)\)")


def build(source, out):
    """``make docs``'s Sphinx command on ``source``: (exit code, warnings)."""
    done = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-n", "-q",
                           "-b", "html", str(source), str(out)],
                          capture_output=True, text=True, env=ENV, timeout=600)
    return done.returncode, done.stderr


def test_the_site_builds_with_warnings_as_errors(tmp_path):
    code, warnings = build(DOCS, tmp_path)
    assert code == 0, warnings
    index = (tmp_path / "index.html").read_text()
    for page in sorted(DOCS.glob("*.md")):
        assert page.stem == "index" or f'href="{page.stem}.html"' in index, page.name


@pytest.mark.slow
def test_a_new_page_joins_the_site_and_a_broken_link_fails_it(tmp_path):
    """A page another helper adds needs no edit elsewhere; a link to a heading or a page that
    does not exist stops the strict build, naming it."""
    source = tmp_path / "docs"
    shutil.copytree(DOCS, source, ignore=shutil.ignore_patterns("_build"))
    (source / "lms.md").write_text("# Grades to the LMS\n\nSee [the semester](instructors.md).\n")
    code, _ = build(source, tmp_path / "good")
    assert code == 0, _
    assert 'href="lms.html"' in (tmp_path / "good" / "index.html").read_text()
    (source / "lms.md").write_text("# Grades to the LMS\n\n[a](grading.md#no-such-heading) "
                                   "and [b](no-such-page.md).\n")
    code, warnings = build(source, tmp_path / "bad")
    assert code != 0
    assert "no-such-heading" in warnings and "no-such-page" in warnings, warnings


def headings(path):
    """The GitHub anchors of a Markdown file's headings."""
    text = re.sub(r"^```.*?^```", "", path.read_text(), flags=re.M | re.S)
    return {github_slugify(m.group(1)) for m in re.finditer(r"^#+ (.+)$", text, re.M)}


@pytest.mark.parametrize("page", ["README.md", "CHANGELOG.md"])
def test_the_top_level_pages_links_resolve(page):
    for target in LINK.findall((ROOT / page).read_text()):
        if re.match(r"[a-z]+:", target):   # https:, mailto:
            continue
        path, _, anchor = target.partition("#")
        assert (ROOT / path).exists(), f"{page} links to {path}, which does not exist"
        if anchor:
            assert anchor in headings(ROOT / path), f"{page}: no heading #{anchor} in {path}"


def test_the_readme_is_read_in_five_minutes():
    """At most 150 lines: the detail belongs in docs/."""
    assert len((ROOT / "README.md").read_text().splitlines()) <= 150


def test_the_screenshots_are_small_pngs():
    for image in re.findall(r"!\[[^\]]*\]\(([^)]+)\)", (ROOT / "README.md").read_text()):
        data = (ROOT / image).read_bytes()
        assert data.startswith(b"\x89PNG") and len(data) < 300_000, image


def shell_commands(markdown):
    """Each command of the Markdown's ``bash`` code blocks, as argv (comments and line
    continuations resolved)."""
    commands = []
    for indent, body in re.findall(r"^( *)```bash\n(.*?)^\1```", markdown, re.M | re.S):
        for line in textwrap.dedent(body).replace("\\\n", " ").splitlines():
            if argv := shlex.split(line, comments=True):
                commands.append(argv)
    return commands


def options(argv):
    """The ``--option`` names an argv uses."""
    return {arg.split("=")[0] for arg in argv if arg.startswith("--")}


def check(argv):
    """Run ``argv``, or parse it with ``--help``: None when it is fine, else what is wrong."""
    if argv[0] == "make":
        done = subprocess.run(["make", "-n", *argv[1:]], cwd=ROOT, capture_output=True,
                              text=True, env=ENV)
        return None if done.returncode == 0 else done.stderr
    if argv == ["source", ".venv/bin/activate"]:
        done = subprocess.run(["bash", "-c", "source .venv/bin/activate && "
                               "command -v autograde nbgrader jupyter"], cwd=ROOT,
                              capture_output=True, text=True, env=dict(os.environ))
        found = done.stdout.split()
        expected = [str(ROOT / ".venv" / "bin" / name) for name in ("autograde", "nbgrader",
                                                                    "jupyter")]
        return None if found == expected else f"activated, found {found}: {done.stderr}"
    if argv[0] in ("autograde", "nbgrader", "jupyter"):
        done = subprocess.run([str(BIN / argv[0]), *argv[1:], "--help"], cwd=ROOT,
                              capture_output=True, text=True, env=ENV, timeout=300)
        unknown = {o for o in options(argv) if o not in done.stdout}
        if done.returncode or unknown:
            return f"exit {done.returncode}, options not in its help: {unknown}\n{done.stderr}"
        return None
    return "a command this test does not know: teach tests/test_docs.py how to check it"


def test_the_readme_commands_are_checked():
    """Every command kind is known: a README with a new kind of command fails until this
    test knows how to run or parse it."""
    commands = shell_commands((ROOT / "README.md").read_text())
    assert ["make", "demo"] in commands and ["make", "test"] in commands
    assert check(["cp", "-r", "release", "x"]) is not None
    assert check(["autograde", "submitted/", "--no-such-option"]) is not None
    assert check(["make", "no-such-target"]) is not None


@pytest.mark.slow
@pytest.mark.parametrize("argv", shell_commands((ROOT / "README.md").read_text()),
                         ids=shlex.join)
def test_every_readme_command_runs_or_parses(argv):
    problem = check(argv)
    assert problem is None, problem
