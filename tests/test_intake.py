"""Intake in both directions: every hostile submission file is refused with one line naming
it, quickly and in bounded memory; every honest variant (BOM, UTF-16, nbformat 3, a zip
made on any system) reads as the notebook it is."""
import csv
import io
import json
import os
import signal
import stat
import zipfile
from contextlib import contextmanager
from pathlib import Path

import nbformat
import pytest

from autograder.report import spreadsheet
from autograder.intake import names, reader, unzip

HONEST = nbformat.v4.new_notebook(cells=[
    nbformat.v4.new_markdown_cell("# Locality: « fenêtre » 局所性"),
    nbformat.v4.new_code_cell("def corr2d(X, K):\n    return X  # [not] {a bracket}")])


@contextmanager
def no_hang(seconds=10):
    """Fail instead of hanging (a FIFO opened for reading waits for a writer forever)."""
    def stop(*_):
        raise TimeoutError("the reader hung")
    previous = signal.signal(signal.SIGALRM, stop)
    signal.alarm(seconds)
    try:
        yield
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def refused(path, **options):
    """The one-line reason ``read_notebook`` refuses ``path`` with."""
    with no_hang(), pytest.raises(reader.Unreadable) as info:
        reader.read_notebook(path, **options)
    reason = str(info.value)
    assert "\n" not in reason and reason.startswith(Path(path).name)
    return reason


def test_an_honest_notebook_reads_as_nbformat_does(tmp_path):
    path = tmp_path / "locality.ipynb"
    nbformat.write(HONEST, path)
    assert reader.read_notebook(path) == json.loads(path.read_text())


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_bom_and_utf16_notebooks_are_read(tmp_path, encoding):
    path = tmp_path / "locality.ipynb"
    path.write_bytes(nbformat.writes(HONEST).encode(encoding))
    notebook = reader.read_notebook(path)
    assert "".join(notebook["cells"][0]["source"]) == HONEST.cells[0].source


def test_an_nbformat_3_notebook_is_converted(tmp_path):
    old = nbformat.v3.new_notebook(worksheets=[nbformat.v3.new_worksheet(cells=[
        nbformat.v3.new_code_cell("def corr2d(X, K):\n    return X")])])
    path = tmp_path / "locality.ipynb"
    for text in (nbformat.v3.writes_json(old), nbformat.v3.writes_json(old, split_lines=True)):
        path.write_text(text)
        notebook = reader.read_notebook(path)
        assert notebook["nbformat"] == 4
        assert "".join(notebook["cells"][0]["source"]) == "def corr2d(X, K):\n    return X"


def test_other_encodings_are_named(tmp_path):
    path = tmp_path / "locality.ipynb"
    path.write_bytes(nbformat.writes(HONEST).encode("utf-8").replace("ê".encode(), b"\xea"))
    reason = refused(path)
    assert "is not UTF-8 text" in reason and "0xea" in reason


def test_a_fifo_is_refused_without_hanging(tmp_path):
    os.mkfifo(tmp_path / "locality.ipynb")
    assert "named pipe (FIFO)" in refused(tmp_path / "locality.ipynb")


def test_symlinks_are_refused_and_say_where_they_point(tmp_path):
    (tmp_path / "locality.ipynb").symlink_to("/dev/zero")
    assert "symbolic link (to /dev/zero)" in refused(tmp_path / "locality.ipynb")
    nbformat.write(HONEST, tmp_path / "answers.ipynb")
    (tmp_path / "pooling.ipynb").symlink_to(tmp_path / "answers.ipynb")
    assert "answers.ipynb" in refused(tmp_path / "pooling.ipynb")


@pytest.mark.skipif(os.geteuid() != 0, reason="mknod needs root")
def test_a_device_is_refused(tmp_path):
    os.mknod(tmp_path / "locality.ipynb", stat.S_IFCHR | 0o644, os.makedev(1, 5))  # /dev/zero
    assert "character device" in refused(tmp_path / "locality.ipynb")


def test_a_folder_or_a_missing_file(tmp_path):
    (tmp_path / "locality.ipynb").mkdir()
    assert "is a folder" in refused(tmp_path / "locality.ipynb")
    assert "is missing" in refused(tmp_path / "pooling.ipynb")


def test_a_huge_file_is_refused_by_its_size_without_reading_it(tmp_path):
    path = tmp_path / "locality.ipynb"
    with open(path, "wb") as handle:
        handle.truncate(5 << 30)     # sparse: 5 GB that cost no disk
    assert "is 5 GB, larger than the 32 MB a notebook may be" in refused(path)
    nbformat.write(HONEST, path)
    assert "larger than the 100 bytes" in refused(path, limit=100)


def test_deeply_nested_json_gets_one_line_not_a_recursion_error(tmp_path):
    path = tmp_path / "locality.ipynb"
    path.write_text("[" * 186_000 + "]" * 186_000)       # 372 KB
    assert "nests 186000 levels deep (at most 100)" in refused(path)
    nested = nbformat.writes(HONEST).replace('"metadata": {}', '"metadata": ' + '{"a": ' * 150
                                             + "1" + "}" * 150, 1)
    path.write_text(nested)
    assert "levels deep" in refused(path)


def test_brackets_inside_strings_do_not_count():
    assert reader.depth('{"a": "[[[[\\"{{{{", "b": [1, [2]]}') == 3


@pytest.mark.parametrize("text, words", [
    ("{ not json", "not a valid notebook (not JSON"),
    ("[1, 2]", "its JSON is not an object"),
    ('{"nbformat": 2, "cells": []}', "nbformat 2"),
    ('{"cells": []}', "no nbformat version"),
    ('{"nbformat": 4, "cells": "x"}', "no list of cells"),
    ('{"nbformat": 3, "worksheets": [{"cells": 7}]}', "cannot be converted"),
])
def test_what_is_not_a_notebook_says_why(tmp_path, text, words):
    path = tmp_path / "locality.ipynb"
    path.write_text(text)
    assert words in refused(path)


# --- zips ---------------------------------------------------------------------------------

def make_zip(path, members):
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as handle:
        for name, data in members:
            handle.writestr(name, data)
    return path


def test_a_zip_unpacks_honest_members(tmp_path):
    archive = make_zip(tmp_path / "class.zip", [("submitted/ada/a1/first.ipynb", "{}"),
                                                ("submitted/ada/a1/data/x.txt", "x")])
    done = unzip.unpack(archive, tmp_path / "out")
    assert (tmp_path / "out/submitted/ada/a1/first.ipynb").read_text() == "{}"
    assert (done.refused, done.repeated, done.written) == ({}, {}, 3)


@pytest.mark.parametrize("name", ["../escape/a1/first.ipynb", "/etc/cron.d/x",
                                  "ada/../../x", "..\\..\\x"])
def test_paths_leaving_the_folder_refuse_the_whole_zip(tmp_path, name):
    archive = make_zip(tmp_path / "evil.zip", [("ada/a1/first.ipynb", "{}"), (name, "{}")])
    with pytest.raises(unzip.UnsafeZip, match="unsafe path"):
        unzip.unpack(archive, tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_repeated_path_is_reported(tmp_path):
    archive = tmp_path / "class.zip"
    with pytest.warns(UserWarning, match="Duplicate name"):
        make_zip(archive, [("ada/a1/first.ipynb", "old"), ("ada/a1/first.ipynb", "new")])
    done = unzip.unpack(archive, tmp_path / "out")
    assert done.repeated == {"ada/a1/first.ipynb": 2}
    assert (tmp_path / "out/ada/a1/first.ipynb").read_text() == "new"


def test_a_name_too_long_costs_only_its_member(tmp_path):
    long = "é" * 300
    archive = make_zip(tmp_path / "class.zip", [(f"{long}/a1/first.ipynb", "{}"),
                                                ("ada/a1/first.ipynb", "{}")])
    done = unzip.unpack(archive, tmp_path / "out")
    assert "a name of 300 characters" in done.refused[f"{long}/a1/first.ipynb"]
    assert (tmp_path / "out/ada/a1/first.ipynb").exists()


def test_a_member_too_large_costs_only_itself_and_is_streamed(tmp_path):
    archive = make_zip(tmp_path / "class.zip", [("bomb/a1/first.ipynb", bytes(8 << 20)),
                                                ("ada/a1/first.ipynb", "{}")])
    done = unzip.unpack(archive, tmp_path / "out", max_member=1 << 20)
    assert "unpacks to 8 MB, more than the 1 MB" in done.refused["bomb/a1/first.ipynb"]
    assert not (tmp_path / "out/bomb/a1/first.ipynb").exists()
    assert (tmp_path / "out/bomb/a1").is_dir()      # collection finds the student, says why
    assert (tmp_path / "out/ada/a1/first.ipynb").exists()


def lie_about_sizes(archive, real, claimed):
    """Rewrite the uncompressed size ``real`` of ``archive``'s members as ``claimed``."""
    data = archive.read_bytes()
    archive.write_bytes(data.replace(real.to_bytes(4, "little"), claimed.to_bytes(4, "little")))


def test_a_lying_size_header_is_caught_while_streaming(tmp_path):
    archive = make_zip(tmp_path / "class.zip", [("liar/a1/first.ipynb", bytes(3 << 20)),
                                                ("ada/a1/first.ipynb", "{}")])
    lie_about_sizes(archive, 3 << 20, 1000)
    done = unzip.unpack(archive, tmp_path / "out", max_member=1 << 20)
    assert "damaged" in done.refused["liar/a1/first.ipynb"]
    assert (tmp_path / "out/ada/a1/first.ipynb").exists()


def test_a_zip_bomb_is_refused_as_a_whole(tmp_path):
    archive = make_zip(tmp_path / "bomb.zip", [(f"s{i}/a1/first.ipynb", bytes(1 << 20))
                                               for i in range(5)])
    with pytest.raises(unzip.UnsafeZip, match="unpacks to 5 MB, more than 4 MB"):
        unzip.unpack(archive, tmp_path / "out", max_total=4 << 20)


def test_a_damaged_zip_is_refused(tmp_path):
    (tmp_path / "class.zip").write_bytes(b"PK\x03\x04 broken")
    with pytest.raises(unzip.UnsafeZip, match="cannot be unpacked"):
        unzip.unpack(tmp_path / "class.zip", tmp_path / "out")


# --- names --------------------------------------------------------------------------------

def test_student_ids_are_kept_exact_and_undecodable_bytes_escaped():
    for name in ("ada", "Ada", "ada lovelace", "-rf", "Łukasz", "李雷", "e\u0301", "\u00e9",
                 "<b>x</b>", "a\nb"):
        assert names.student_id(name) == name
    assert names.student_id(os.fsdecode(b"caf\xe9")) == "caf\\xe9"
    assert names.student_id("e\u0301") != names.student_id("\u00e9")   # no normalisation


def test_shown_is_one_harmless_line():
    assert names.shown("a\nb\x1b[2J\u202ec") == "a\\nb\\x1b[2J\\u202ec"
    assert names.shown(os.fsdecode(b"caf\xe9")) == "caf\\xe9"
    assert names.shown("Łukasz 李雷") == "Łukasz 李雷"


def test_ids_the_gradebook_cannot_hold():
    assert names.id_problem("a" * 128) is None
    assert "129 characters long; nbgrader's gradebook allows 128" in names.id_problem("a" * 129)


def test_ignored_inputs_are_summarised_per_kind():
    ignored = names.Ignored()
    for index in range(200_000):
        ignored.add("stray files", f"ada/a1/x{index}.png")
    ignored.add("hidden folders", ".git/")
    lines = ignored.lines()
    assert lines == ["stray files (200000): ada/a1/x0.png; ada/a1/x1.png; ada/a1/x2.png and "
                     "199997 more", "hidden folders (1): .git/"]
    assert len(ignored) == 200_001


# --- CSVs for spreadsheets ------------------------------------------------------------------

@pytest.mark.parametrize("value, safe", [
    ("=1+2", "'=1+2"), ("+1+2", "'+1+2"), ("-rf", "'-rf"), ("@SUM(A1)", "'@SUM(A1)"),
    ("\t=1", "'\t=1"), ('=HYPERLINK("http://x","y")', '\'=HYPERLINK("http://x","y")'),
    ("ada", "ada"), ("a=b", "a=b"), ("-1", "-1"), ("+2.5", "+2.5"), ("-1e3", "-1e3"),
    ("", ""), (3.0, 3.0), (None, None)])
def test_spreadsheet_cells_never_evaluate(value, safe):
    assert spreadsheet.spreadsheet_cell(value) == safe


def test_a_spreadsheet_csv_parses_back_with_the_prefix():
    rows = [{"student_id": "=1+2", "score": "2"}, {"student_id": "a,\n\"b\"", "score": "-1"}]
    text = spreadsheet.csv_text(["student_id", "score"], rows)
    assert list(csv.DictReader(io.StringIO(text, newline=""))) == [
        {"student_id": "'=1+2", "score": "2"}, {"student_id": "a,\n\"b\"", "score": "-1"}]
    assert spreadsheet.spreadsheet_row(["=x", 1]) == ["'=x", 1]
