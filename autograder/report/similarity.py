"""Similar answers: pairs of students whose code for a graded function is near-identical.

Each solution cell a student changed is normalised (parsed and printed again with every
variable and argument named ``v``: layout, comments, parentheses, quotes and names are gone)
and fingerprinted with ``copydetect`` (winnowing, the algorithm of MOSS, on pygments tokens),
leaving out what every student was given or can read (the release notebook, starter code
included, and the course book's code, ``d2l``'s source), so two students who typed the book's
``corr2d`` are not paired. A pair is reported when each answer has at least ``MIN_TOKENS``
fingerprinted characters left and at least ``THRESHOLD`` of each is in the other: for a human
to judge side by side, never a verdict.

Why these numbers (measured on ``tests/variants``: every chapter's honest, independently
written implementations of each graded function, 65 pairs long enough to compare, and copies
of each; ``tests/test_similarity.py``): a copy with its names renamed, re-laid out and
commented scores 1.0; one that also gains a line of its own is paired in 68 of 70 cases;
honest pairs score at most 0.52. The k-grams are hashed the same way in every process
(``_stable_kgram_hashes``), so a report names the same pairs on every run. One-line answers (``max_via_relu``) are identical when written
independently: they are below ``MIN_TOKENS``. Smaller k-grams than ``K`` (or no
normalisation) let a one-token edit hide a copy; larger ones do the same for short answers.
"""
import ast
import functools
import hashlib
import importlib.util
import io
import itertools
import json
import logging
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from autograder.engine.cells import source
from autograder.intake.reader import digest

#: Noise threshold (k-gram length, in normalised characters) and winnowing window.
K, WINDOW = 10, 4
THRESHOLD = 0.7
MIN_TOKENS = 40
#: A fingerprint more students than this hold is common knowledge: it alone makes no pair a
#: candidate (below this class size every pair that shares anything is compared).
COMMON = 50


@dataclass
class Pair:
    """Two students' answers to one solution cell; ``similarity``: the smaller of the two
    shares of each answer found in the other (0..1)."""
    assignment: str
    grade_id: str
    students: tuple
    similarity: float
    code: tuple           # the two answers as written


@dataclass
class Group:
    """Students linked pair by pair by near-identical answers to the same functions of one
    assignment (``grade_ids``); ``similarity``: the least alike of the linked pairs;
    ``answers``: ``{grade_id: {code: [students who wrote exactly that]}}``."""
    assignment: str
    students: tuple
    grade_ids: tuple
    similarity: float
    answers: dict


class _OneName(ast.NodeTransformer):
    def visit_Name(self, node):
        node.id = "v"
        return node

    def visit_arg(self, node):
        node.arg, node.annotation = "v", None
        return node


def normalised(code):
    """``code`` printed again from its syntax tree with every name ``v`` (as is if it does not
    parse, e.g. IPython magics)."""
    try:
        return ast.unparse(_OneName().visit(ast.parse(code)))
    except (SyntaxError, ValueError, RecursionError):
        return code


def _stable_kgram_hashes(string, k):
    """copydetect's ``hashed_kgrams`` with a hash that is the same in every process (its own
    uses ``hash()``, salted per process: winnowing would keep other k-grams on every run, and
    the report would pair other students each time)."""
    return np.array([int.from_bytes(hashlib.blake2b(string[i:i + k].encode(), digest_size=8)
                                    .digest(), "little", signed=True)
                     for i in range(len(string) - k + 1)], dtype=np.int64)


def _fingerprint(code, boilerplate=None, k=K, window=WINDOW):
    """copydetect's fingerprint of ``normalised(code)``, ``boilerplate`` hashes left out."""
    from copydetect import CodeFingerprint, utils
    utils.hashed_kgrams = _stable_kgram_hashes
    previous = logging.root.manager.disable
    logging.disable(logging.WARNING)   # copydetect warns about every untokenised snippet
    try:
        return CodeFingerprint("answer.py", k, window, boilerplate=boilerplate,
                               fp=io.StringIO(normalised(code)), language="python")
    finally:
        logging.disable(previous)


def book_code():
    """The course book's code (``d2l/torch.py``, read, not imported); "" if not installed."""
    spec = importlib.util.find_spec("d2l")
    if spec is None or not spec.submodule_search_locations:
        return ""
    path = Path(next(iter(spec.submodule_search_locations)), "torch.py")
    return path.read_text() if path.exists() else ""


def given_code(release_folder):
    """Every cell of the release notebooks of one assignment, normalised."""
    cells = [normalised(source(cell)) for path in sorted(Path(release_folder).glob("*.ipynb"))
             for cell in json.loads(path.read_text())["cells"]]
    return "\n\n".join(cells)


def answers(records):
    """``{(assignment, grade_id): {student_id: code}}`` of every solution code cell a student
    changed from the release: the records' ``solutions`` (``feedback.changed_code``)."""
    return _by_cell(records, "solutions")


def fingerprints(records):
    """``{(assignment, grade_id): {student_id: fingerprint}}`` the workers put in the records
    (``feedback.finish``; a record journaled before they did has none)."""
    return _by_cell(records, "fingerprints")


def _by_cell(records, field):
    found = {}
    for record in records:
        for notebook in record["notebooks"]:
            for grade_id, value in (notebook.get(field) or {}).items():
                found.setdefault((record["assignment"], grade_id), {})[record["student_id"]] = value
    return found


@functools.lru_cache(maxsize=1)
def book_hashes():
    """Every k-gram hash of the course book's code (``book_code``): computed once per process
    (about 2 s)."""
    return _fingerprint(normalised(book_code()), window=1).hashes


def given_hashes(release_folder):
    """The fingerprints of what each student has without writing it: ``given_code`` and the
    book's code (every k-gram: nothing of it may count as copied)."""
    release = _fingerprint(given_code(release_folder), window=1).hashes
    return np.unique(np.array(list(release | book_hashes())))


def release_hashes(release_folder):
    """``given_hashes`` of a release folder, computed once per content of it (a worker
    fingerprints many submissions of one release)."""
    return _given_by_digest(str(release_folder), digest(release_folder))


@functools.lru_cache(maxsize=32)
def _given_by_digest(release_folder, _digest):
    return given_hashes(release_folder)


def fingerprint(code, given):
    """What comparing ``code`` needs of its fingerprint (``given`` hashes left out), as plain
    data for a record: ``{"index": [[hash, [position, ...]], ...], "coverage": characters}``
    (about 0.6 KB as JSON for the answer key's functions)."""
    found = _fingerprint(code, given)
    return {"index": [[int(h), [int(i) for i in positions]]
                      for h, positions in sorted(found.hash_idx.items())],
            "coverage": float(found.token_coverage)}


class _Print:
    """A ``fingerprint`` as copydetect's ``compare_files`` reads it (its slices, not used
    here, stay in normalised characters)."""

    def __init__(self, data):
        self.hash_idx = {h: positions for h, positions in data["index"]}
        self.hashes = set(self.hash_idx)
        self.token_coverage = data["coverage"]
        self.k, self.offsets = K, np.array([])
        self.filtered_code = "x" if self.token_coverage else ""   # only its length is read


def matches(by_student, given, threshold=THRESHOLD, min_tokens=MIN_TOKENS, known=None):
    """``[(first, second, similarity)]`` of the near-identical answers among
    ``{student_id: code}``, fingerprints in ``given`` left out (see ``Pair``); ``known``:
    ``{student_id: fingerprint}`` already made (on the worker), the others are made here.
    Only pairs that share a fingerprint held by at most ``COMMON`` students are compared
    (MOSS's index): in a class of any size the work grows with the pairs that could be alike,
    not with all pairs."""
    from copydetect import compare_files
    known = known or {}
    prints = {student: _Print(known.get(student) or fingerprint(code, given))
              for student, code in sorted(by_student.items())}
    holders = defaultdict(list)
    for student in sorted(s for s, p in prints.items() if p.token_coverage >= min_tokens):
        for hashed in set(prints[student].hashes):
            holders[hashed].append(student)
    candidates = {pair for group in holders.values() if len(group) <= COMMON
                  for pair in itertools.combinations(group, 2)}
    found = []
    for first, second in sorted(candidates):
        _, shares, _ = compare_files(prints[first], prints[second])
        if min(shares) >= threshold:
            found.append((first, second, float(min(shares))))
    return found


def similar_pairs(records, release_root, threshold=THRESHOLD, min_tokens=MIN_TOKENS):
    """``[Pair]`` of near-identical answers in ``records``, most similar first;
    ``release_root``: the course's ``release/`` (``<assignment>/*.ipynb``)."""
    pairs, given, shipped = [], {}, fingerprints(records)
    for (assignment, grade_id), by_student in sorted(answers(records).items()):
        known = shipped.get((assignment, grade_id), {})
        if assignment not in given and set(by_student) - set(known):
            given[assignment] = given_hashes(Path(release_root, assignment))
        for first, second, similarity in matches(by_student, given.get(assignment),
                                                 threshold, min_tokens, known):
            pairs.append(Pair(assignment, grade_id, (first, second), similarity,
                              (by_student[first], by_student[second])))
    return sorted(pairs, key=lambda p: (-p.similarity, p.assignment, p.grade_id, p.students))


def groups(pairs):
    """``[Group]`` of ``pairs`` (``[Pair]``): per function, the students linked by pairs (a
    connected component); the functions of one assignment with the same students, one group.
    Largest groups first."""
    linked = defaultdict(list)
    for pair in pairs:
        linked[pair.assignment, pair.grade_id].append(pair)
    found = {}
    for (assignment, grade_id), function_pairs in sorted(linked.items()):
        for component in _components(function_pairs):
            students = tuple(sorted({s for p in component for s in p.students}))
            code = {s: c for p in component for s, c in zip(p.students, p.code)}
            by_code = defaultdict(list)
            for student in students:
                by_code[code[student]].append(student)
            group = found.setdefault((assignment, students), Group(
                assignment, students, (), 1.0, {}))
            group.grade_ids += (grade_id,)
            group.similarity = min(group.similarity, *(p.similarity for p in component))
            group.answers[grade_id] = dict(by_code)
    return sorted(found.values(), key=lambda g: (-len(g.students), -len(g.grade_ids),
                                                 g.assignment, g.students))


def _components(pairs):
    """The pairs of one function split into connected components (lists of pairs)."""
    root = {}

    def find(student):
        while root.setdefault(student, student) != student:
            student = root[student]
        return student

    for pair in pairs:
        root[find(pair.students[0])] = find(pair.students[1])
    components = defaultdict(list)
    for pair in pairs:
        components[find(pair.students[0])].append(pair)
    return list(components.values())
