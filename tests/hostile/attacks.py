"""Hostile submissions (issue 6), one per attack, and the honest ones graded with them.

Each :class:`Attack` is a submission of the fixture chapter (``course_fixture``): the answer
key everywhere except ``code`` (solution cells replaced), plus ``extra`` cells, plus an
``edit`` of the notebook. ``zero`` lists the test cells that must score 0 (the attacked
function does not earn them); every other autograded cell must keep its full points.
``status`` and ``reason`` (a substring of the record's reason) are what the grader must
say. Placeholders in the code: ``{course}`` (the repository), ``{fixture}`` (the test's
course directory), ``{victim}`` (an honest student's submission folder).
"""
from dataclasses import dataclass, field

# A wrong corr2d: right shape, wrong values (what the cheats below try to get points for).
WRONG_CORR2D = '''def corr2d(X, K):
    h, w = K.shape
    return torch.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1))
'''

# A corr2d that is right only if it can read someone else's solution.
STEAL = '''def corr2d(X, K):
    import json
    for path in {paths}:
        try:
            cells = json.load(open(path))["cells"]
        except Exception:
            continue
        for cell in cells:
            text = "".join(cell["source"])
            if text.startswith("def corr2d") and "NotImplementedError" not in text:
                namespace = {{"torch": torch}}
                exec(text, namespace)
                return namespace["corr2d"](X, K)
    return torch.zeros((X.shape[0] - K.shape[0] + 1, X.shape[1] - K.shape[1] + 1))
'''


@dataclass
class Attack:
    name: str
    code: dict = field(default_factory=dict)
    extra: list = field(default_factory=list)
    edit: object = None
    zero: tuple = ()
    status: str = "graded"
    reason: str = ""
    output: str = ""     # text that the student cells' outputs must contain
    links: dict = field(default_factory=dict)   # symlinks put in the submission folder


def _set_meta(target, **changes):
    def edit(nb):
        for cell in nb["cells"]:
            if cell["metadata"].get("nbgrader", {}).get("grade_id") == target:
                cell["metadata"]["nbgrader"].update(changes)
    return edit


def _set_source(grade_id, text):
    def edit(nb):
        for cell in nb["cells"]:
            if cell["metadata"].get("nbgrader", {}).get("grade_id") == grade_id:
                cell["source"] = text
    return edit


def _delete(grade_id):
    def edit(nb):
        nb["cells"] = [c for c in nb["cells"]
                       if c["metadata"].get("nbgrader", {}).get("grade_id") != grade_id]
    return edit


def _duplicate(grade_id):
    def edit(nb):
        for index, cell in enumerate(nb["cells"]):
            if cell["metadata"].get("nbgrader", {}).get("grade_id") == grade_id:
                copy = dict(cell, id="copy-of-" + cell["id"])
                nb["cells"].insert(index + 1, copy)
                return
    return edit


def _malformed(nb):
    nb["cells"][0]["metadata"] = {"nbgrader": {"grade_id": ["not", "a", "string"], "grade": 1}}
    nb["cells"][0]["source"] = ["# A title\n", 42, "\n"]
    nb["cells"].insert(2, {"cell_type": "nonsense", "source": 1})
    nb["cells"].insert(3, "not even a dict")


def _old_format(nb):
    nb["nbformat_minor"] = 4
    for cell in nb["cells"]:
        cell.pop("id", None)


#: What the write attacks try to append to the course's files.
MARK = "HACKED BY A STUDENT"
WRONG = {"corr2d": WRONG_CORR2D}
#: Conv2D is built on the student's corr2d: a corr2d that does not earn its points costs both.
CORR2D = ("test_corr2d", "test_Conv2D")
#: A statement that can rebind any global costs every function that has a forbidden routine.
ALL = ("test_corr2d", "test_Conv2D", "test_pool2d")

ATTACKS = [
    # -- isolation: the course directory, the answer key, other students, the network ----------
    Attack("read_source_notebook", {"corr2d": STEAL.format(paths=repr([
        "{course}/source/02_cross_correlation/cross_correlation.ipynb",
        "{fixture}/source/fixture/fixture.ipynb"]))}, zero=CORR2D, status="flagged",
        reason="dynamically"),
    Attack("read_secret_files", WRONG, extra=[(None, """import os
secrets = ["{course}/source/02_cross_correlation/cross_correlation.ipynb",
           "{fixture}/source/fixture/fixture.ipynb", "{course}/autograder/answer_key.py",
           "{course}/gradebook.db", "{course}/.git/config", "{course}/tests/test_hostile.py",
           "/root/.bash_history", "/etc/shadow"]
readable = 0
for path in secrets:
    try:
        readable += len(open(path, "rb").read(100)) > 0
    except OSError:
        pass
listed = 0
for folder in ["{fixture}", "{fixture}/submitted", "{course}/source", "{course}/autograder"]:
    try:
        listed += len(os.listdir(folder))
    except OSError:
        pass
print("secret files readable:", readable, "folders listed:", listed)
try:
    held = os.listdir("{course}")
except OSError:   # Landlock: the course directory itself cannot be listed
    held = []
print("the course directory shows only course/ and .venv/:", set(held) <= {"course", ".venv"})
""")], zero=CORR2D, output="secret files readable: 0 folders listed: 0\n"
                          "the course directory shows only course/ and .venv/: True"),
    Attack("symlinks_in_submission", WRONG, links={
        "source.ipynb": "{fixture}/source/fixture/fixture.ipynb",
        "course": "{course}", "key.py": "{course}/autograder/answer_key.py"},
        extra=[(None, """import os
readable = 0
for name in ["source.ipynb", "course/autograder/answer_key.py", "key.py"]:
    try:
        readable += len(open(name).read()) > 0
    except OSError:
        pass
print("linked secrets readable:", readable)
""")], zero=CORR2D, output="linked secrets readable: 0"),
    Attack("import_answer_key", WRONG, extra=[("corr2d", """import importlib, sys
sys.path.insert(0, "{course}")
for name in [n for n in sys.modules if n.startswith("autograder")]:
    del sys.modules[name]
try:
    importlib.import_module("autograder.answer_key")
    print("answer key imported")
except Exception as error:
    print("answer key not imported:", type(error).__name__)
""")], zero=ALL, status="flagged", reason="dynamically", output="answer key not imported"),
    Attack("read_other_student", WRONG, extra=[(None, """import glob
copies = glob.glob("{victim}/*.ipynb") + glob.glob("../../*/fixture/*.ipynb")
copies += glob.glob("/tmp/**/*.ipynb", recursive=True)
print("notebooks of others:", len([p for p in copies if not p.startswith("/tmp/submission")]))
""")], zero=CORR2D, output="notebooks of others: 0"),
    Attack("write_course_dir", WRONG, extra=[(None, '''import os
for path in ["{course}/autograder/engine/job.py", "{course}/source/x.txt", "{course}/gradebook.db",
             "{fixture}/source/fixture/fixture.ipynb", "{fixture}/release/fixture/fixture.ipynb",
             "{course}/course/checks.py", "{victim}/fixture.ipynb"]:
    try:
        with open(path, "a") as file:
            file.write("HACKED BY A STUDENT")
    except OSError as error:
        print(path, type(error).__name__)
try:
    os.makedirs("{course}/autograded/evil")
except OSError as error:
    print(type(error).__name__)
''')], zero=CORR2D),
    Attack("network", WRONG, extra=[(None, """import socket, urllib.request
try:
    socket.create_connection(("1.1.1.1", 53), timeout=3)
    print("network: reachable")
except OSError as error:
    print("network:", error)
try:
    urllib.request.urlopen("https://pypi.org/simple/", timeout=3)
except OSError as error:
    print("download:", type(error).__name__)
""")], zero=CORR2D, output="network: [Errno 1] Operation not permitted"),   # seccomp, every layer
    Attack("memory_scan", WRONG, extra=[("corr2d", '''import gc
needles = ("HIDDEN" + " TESTS", "X64 = " + "torch.randn", "answer" + "_key.py")
found = 0
for holder in gc.get_objects():
    if holder is needles:
        continue
    try:
        values = list(holder.values()) if type(holder) is dict else (
            list(holder) if type(holder) in (list, tuple) else [])
    except Exception:
        continue
    found += sum(1 for value in values for needle in needles
                 if type(value) is str and needle in value)
print("secrets found in memory:", found)
''')], zero=CORR2D, output="secrets found in memory: 0"),

    # -- verdicts that student code cannot change ----------------------------------------------
    Attack("patch_allclose", WRONG, extra=[("corr2d", '''torch.allclose = lambda *a, **k: True
torch.equal = lambda *a, **k: True
torch.isclose = lambda a, b, **k: torch.ones_like(a, dtype=torch.bool)
''')], zero=CORR2D),
    Attack("patch_torch_testing", WRONG, extra=[("corr2d", '''import torch.testing
torch.testing.assert_close = lambda *a, **k: None
torch.testing.assert_allclose = lambda *a, **k: None
''')], zero=CORR2D),
    Attack("patch_tensor_operators", WRONG, extra=[("corr2d", '''_zero = lambda a, *r, **k: torch.zeros(())
torch.Tensor.__eq__ = lambda a, b: True
torch.Tensor.__sub__ = lambda a, b: torch.zeros_like(a)
torch.Tensor.abs = lambda a: torch.zeros_like(a)
torch.Tensor.__le__ = lambda a, b: torch.ones((), dtype=torch.bool)
torch.Tensor.all = lambda a, *r: torch.tensor(True)
''')], zero=CORR2D),
    Attack("patch_builtins", WRONG, extra=[("corr2d", '''import builtins
builtins.isinstance = lambda *a: True
builtins.all = lambda *a: True
builtins.bool = lambda *a: True
builtins.abs = lambda x: 0
''')], zero=ALL, status="flagged", reason="dynamically"),
    Attack("patch_assertion_error", WRONG, extra=[("corr2d", '''import builtins
class AssertionError(Warning):
    pass
builtins.AssertionError = AssertionError
''')], zero=ALL, status="flagged", reason="dynamically"),
    Attack("patch_check_helpers", WRONG, extra=[("corr2d", '''import course.checks as checks
for name in dir(checks):
    if name.startswith("expect"):
        setattr(checks, name, lambda *a, **k: a[0] if a else None)
''')], zero=ALL, status="flagged",
        reason="dynamically"),
    Attack("always_true_eq", {"corr2d": '''class Anything:
    shape = (2, 2)
    dtype = torch.float32
    def __eq__(self, other):
        return True
    def __getattr__(self, name):
        return lambda *a, **k: self
    def __bool__(self):
        return True

def corr2d(X, K):
    return Anything()
'''}, zero=CORR2D),
    Attack("tensor_subclass", {"corr2d": '''class Liar(torch.Tensor):
    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        return torch.tensor(True) if "eq" in func.__name__ or "le" in func.__name__ else \\
            super().__torch_function__(func, types, args, kwargs or {})

def corr2d(X, K):
    h, w = K.shape
    return torch.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1)).as_subclass(Liar)
'''}, zero=CORR2D),
    Attack("sys_modules", WRONG, extra=[("corr2d", '''import sys, types
fake = types.ModuleType("course.checks")
fake.__getattr__ = lambda name: (lambda *a, **k: a[0] if a else None)
sys.modules["course.checks"] = fake
sys.modules["torch.testing"] = fake
''')], zero=ALL, status="flagged",
        reason="dynamically"),
    Attack("input_transformer", WRONG, extra=[("corr2d", '''ip = get_ipython()
ip.input_transformers_post.append(lambda lines: ["pass\\n"])
''')], zero=("test_corr2d", "test_Conv2D", "test_edge_kernel", "test_pool2d")),
    Attack("fake_passed_output", WRONG, extra=[("corr2d", '''import sys
print("passed (3/3 points)")
print("All tests passed!", file=sys.stderr)
from IPython.display import display
display({"nbgrader": "passed"}, raw=True)
''')], zero=CORR2D),
    Attack("nbgrader_execution", {"corr2d": '''import os
if os.environ.get("NBGRADER_EXECUTION"):
    import course.checks
    course.checks.expect_close = lambda *a, **k: None
    torch.allclose = lambda *a, **k: True

def corr2d(X, K):
    if os.environ.get("NBGRADER_EXECUTION"):
        return torch.zeros((X.shape[0] - K.shape[0] + 1, X.shape[1] - K.shape[1] + 1))
    h, w = K.shape
    return torch.stack([torch.stack([(X[i:i + h, j:j + w] * K).sum()
                                     for j in range(X.shape[1] - w + 1)])
                        for i in range(X.shape[0] - h + 1)])
'''}, zero=CORR2D),

    # -- the library routine that is the answer ------------------------------------------------
    Attack("library_direct", {"corr2d": '''def corr2d(X, K):
    return F.conv2d(X[None, None], K[None, None])[0, 0]
'''}, zero=CORR2D, status="flagged", reason="conv2d"),
    Attack("library_alias", {"corr2d": '''def corr2d(X, K):
    return _correlate(X[None, None], K[None, None])[0, 0]
'''}, extra=[(None, "from torch.nn.functional import conv2d as _correlate\n")],
        zero=CORR2D, status="flagged", reason="conv2d"),
    Attack("library_getattr", {"corr2d": '''def corr2d(X, K):
    routine = getattr(torch.nn.functional, "conv" + "2d")
    return routine(X[None, None], K[None, None])[0, 0]
'''}, zero=CORR2D, status="flagged", reason="dynamically"),
    Attack("library_torch_ops", {"corr2d": '''def corr2d(X, K):
    out = torch.ops.aten.convolution(X[None, None], K[None, None], None, [1, 1], [0, 0],
                                     [1, 1], False, [0, 0], 1)
    return out[0, 0]
'''}, zero=CORR2D, status="flagged", reason="dynamically"),
    Attack("library_d2l", {"corr2d": '''def corr2d(X, K):
    return d2l.corr2d(X, K)
'''}, zero=CORR2D, status="flagged", reason="corr2d"),
    Attack("library_scipy", {"corr2d": '''def corr2d(X, K):
    import scipy.signal
    return torch.tensor(scipy.signal.correlate2d(X.detach().numpy(), K.detach().numpy(),
                                                 mode="valid"))
'''}, zero=CORR2D, status="flagged", reason="correlate2d"),
    Attack("library_pooling", {"pool2d": '''def pool2d(X, pool_size, mode='max'):
    if mode not in ('max', 'avg'):
        raise ValueError(mode)
    routine = F.max_pool2d if mode == 'max' else F.avg_pool2d
    return routine(X[None], pool_size, stride=1)[0]
'''}, zero=("test_pool2d",), status="flagged", reason="max_pool2d"),

    # -- tampering with locked and test cells --------------------------------------------------
    Attack("tamper_test_source", WRONG, edit=_set_source("test_corr2d", "pass\n"),
           zero=CORR2D, status="flagged", reason="test_corr2d was changed: source"),
    Attack("tamper_points", edit=_set_meta("test_corr2d", points=100), status="flagged",
           reason="points 3 -> 100"),
    Attack("tamper_grade_id", WRONG, edit=_set_meta("test_corr2d", grade_id="test_mine"),
           zero=CORR2D, status="flagged", reason="test_corr2d was deleted"),
    Attack("tamper_delete_test", WRONG, edit=_delete("test_corr2d"), zero=CORR2D,
           status="flagged", reason="test_corr2d was deleted"),
    Attack("tamper_duplicate_test", edit=_duplicate("test_corr2d"), status="flagged",
           reason="test_corr2d was duplicated"),
    Attack("tamper_locked_metadata", WRONG, edit=_set_meta("test_corr2d", grade=False,
                                                           locked=False, solution=True),
           zero=CORR2D, status="flagged", reason="test_corr2d was changed"),
    Attack("delete_answer_cell", edit=_delete("q_sharing"), status="flagged",
           reason="q_sharing was deleted"),
    Attack("no_cell_ids", edit=_old_format),
    Attack("malformed_cells", edit=_malformed, status="flagged", reason="not a notebook cell"),

    # -- crashes and resource abuse ------------------------------------------------------------
    Attack("sys_exit", extra=[("corr2d", "import sys\nsys.exit(1)\n")], status="flagged",
           reason="sys.exit"),
    Attack("os_exit", extra=[("corr2d", "import os\nos._exit(3)\n")], status="flagged",
           reason="exit code 3"),
    Attack("segfault", extra=[("corr2d", "import ctypes\nctypes.string_at(0)\n")],
           status="flagged", reason="segmentation fault"),
    # The kernel is PID 1 of its namespace: the signals it sends to itself, its parent or its
    # process group are ignored, and nothing outside the namespace can be reached.
    Attack("kill_kernel", extra=[("corr2d", '''import os, signal
for pid in (os.getpid(), os.getppid(), 0):
    try:
        os.kill(pid, signal.SIGKILL)
    except OSError:
        pass
print("still alive")
''')], output="still alive"),
    Attack("kill_process_group", extra=[("corr2d", '''import os, signal
for kill in (lambda: os.kill(-1, signal.SIGKILL), lambda: os.killpg(0, signal.SIGKILL)):
    try:
        kill()
    except OSError:
        pass
print("still alive")
''')], output="still alive"),
    Attack("kill_server_while_tested", {"edge_kernel": '''def edge_kernel(direction):
    import os, signal
    for pid in (os.getppid(), -1, 1):
        try:
            os.kill(pid, signal.SIGKILL)
        except OSError:
            pass
    if direction == 'vertical':
        return torch.tensor([[1.0, -1.0]])
    if direction == 'horizontal':
        return torch.tensor([[1.0], [-1.0]])
    raise ValueError(direction)
'''}),
    Attack("fork_bomb", extra=[("corr2d", '''import os
while True:
    os.fork()
''')], status="flagged", reason="cell"),
    Attack("stray_process", extra=[("corr2d", '''import os, time
if os.fork() == 0:
    time.sleep(0.3)
    for fd in range(3, 64):
        try:
            os.write(fd, b"\\x00\\x00\\x00\\x10\\x00\\x00\\x00\\x00" + b'{"op": "ready"}  ')
        except OSError:
            pass
    os._exit(0)
''')], status="flagged", reason="left processes running"),
    Attack("memory_bomb", extra=[("corr2d", '''hog = [bytearray(1 << 30) for _ in range(64)]
''')], status="flagged", reason="memory"),
    Attack("infinite_loop_ignoring_sigint", extra=[("corr2d", '''import signal
signal.signal(signal.SIGINT, signal.SIG_IGN)
signal.signal(signal.SIGTERM, signal.SIG_IGN)
while True:
    pass
''')], status="flagged", reason="timed out"),
    Attack("huge_output", extra=[("corr2d", '''import sys
line = "x" * (1 << 20) + "\\n"
for _ in range(4 << 10):
    sys.stdout.write(line)
''')], status="flagged", reason="output"),
    Attack("crash_while_tested", {"edge_kernel": '''def edge_kernel(direction):
    import os
    if direction == 'horizontal':
        os._exit(0)
    if direction == 'vertical':
        return torch.tensor([[1.0, -1.0]])
    raise ValueError(direction)
'''}, zero=("test_edge_kernel",), status="flagged", reason="test_edge_kernel"),
    Attack("hang_while_tested", {"edge_kernel": '''def edge_kernel(direction):
    import signal
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    if direction == 'vertical':
        return torch.tensor([[1.0, -1.0]])
    while True:
        pass
'''}, zero=("test_edge_kernel",), status="flagged", reason="did not finish"),
    Attack("forge_messages", extra=[("corr2d", '''import os
for fd in range(3, 64):
    try:
        os.write(fd, b"\\x00\\x00\\x00\\x10\\x00\\x00\\x00\\x00" + b'{"op": "ready"}  ')
    except OSError:
        pass
''')], status="flagged", reason="cell"),
]

#: Honest submissions: full points, status graded, whatever else is in the batch.
HONEST = {
    "honest_key": {},
    "honest_alternatives": {
        "corr2d": '''def corr2d(X, K):
    h, w = K.shape
    patches = X.unfold(0, h, 1).unfold(1, w, 1)
    return torch.einsum("ijkl,kl->ij", patches, K)
''',
        "pool2d": '''def pool2d(X, pool_size, mode='max'):
    if mode not in ('max', 'avg'):
        raise ValueError(f"unknown mode {mode!r}")
    p_h, p_w = pool_size
    windows = X.double().unfold(0, p_h, 1).unfold(1, p_w, 1)
    flat = windows.reshape(windows.shape[0], windows.shape[1], -1)
    return flat.max(dim=-1).values if mode == 'max' else flat.mean(dim=-1)
''',
        "fc_param_count": '''def fc_param_count(n_h, n_w, m_h, m_w, bias=True):
    total = 0
    for _ in range(n_h * n_w):
        total += m_h * m_w
    return total + (m_h * m_w if bias else 0)
'''},
    "honest_warns": {
        "corr2d": '''import sys
import warnings

def corr2d(X, K):
    warnings.warn("corr2d: this loop is slow")
    print("computing corr2d", file=sys.stderr)
    h, w = K.shape
    Y = torch.zeros((X.shape[0] - h + 1, X.shape[1] - w + 1))
    for i in range(Y.shape[0]):
        for j in range(Y.shape[1]):
            Y[i, j] = (X[i:i + h, j:j + w] * K).sum()
    return Y
'''},
}
