"""The contract's rule, checked on the code: a graded function may not call the library
routine that is its answer (the graded contract, ``EXERCISES.md`` of the course brief).

The notebook's code cells are read (never run) as one program, after IPython's own input
transformation (so ``%magic`` lines do not hide a cell). For every top-level function,
class, import and assignment we collect the routine names it mentions (``F.conv2d``,
``from torch.nn.functional import conv2d as c``, ``getattr(F, "conv2d")``, ``np.correlate``,
``torch.ops.aten.convolution``...) and the global names it reads; a graded function reaches
a routine if it, or a helper or alias it reads, mentions it. Lookups that hide the name
(``getattr`` with a computed name, ``eval``, ``__import__``, ``importlib``, ``torch.ops``,
``torch._C``, ``__dict__``, ``sys.modules``, a module this check cannot read) count as
reaching every routine; a top-level statement of the student's that can rebind any global
(``exec``, ``globals()``, ``builtins``, IPython's ``push``/``run_cell``/``%run``) counts
for every graded function. The dynamic trace of the hidden tests
(``course.checks.expect_no_library``) is the second line.
"""
import ast

CONVOLUTION = frozenset({
    "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
    "convolution", "_convolution", "conv_tbc", "Conv1d", "Conv2d", "Conv3d",
    "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d", "LazyConv1d", "LazyConv2d",
    "mkldnn_convolution", "cudnn_convolution", "slow_conv2d", "thnn_conv2d", "_conv_forward",
    "conv2d_input", "conv2d_weight", "_conv2d",
    "correlate", "correlate1d", "correlate2d", "convolve", "convolve1d", "convolve2d",
    "fftconvolve", "oaconvolve", "corr2d"})
POOLING = frozenset({
    "max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d",
    "max_pool2d_with_indices", "adaptive_max_pool1d", "adaptive_max_pool2d",
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "lp_pool1d", "lp_pool2d",
    "fractional_max_pool2d", "MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d",
    "AvgPool3d", "AdaptiveMaxPool2d", "AdaptiveAvgPool2d", "LPPool2d", "FractionalMaxPool2d",
    "maximum_filter", "uniform_filter", "block_reduce", "_max_pool2d", "_avg_pool2d"})
PADDING = frozenset({
    "pad", "constant_pad_nd", "reflection_pad1d", "reflection_pad2d", "replication_pad1d",
    "replication_pad2d", "ZeroPad2d", "ConstantPad1d", "ConstantPad2d", "ReflectionPad1d",
    "ReflectionPad2d", "ReplicationPad1d", "ReplicationPad2d", "CircularPad2d"})
MAXIMUM = frozenset({"max", "maximum", "fmax", "amax", "clamp", "clamp_min", "clip", "where",
                     "sort", "topk", "hardtanh", "threshold"})
_CORRELATION = ("corr1d", "corr2d", "Conv2D", "conv2d_true", "corr2d_as_matrix",
                "corr2d_pad_stride")

#: Per graded function: the routine names that are its answer (the graded contract).
FORBIDDEN = {name: CONVOLUTION for name in _CORRELATION}
FORBIDDEN.update({
    # Chapter 04 builds on the notes' d2l.corr2d: it is not the answer to a multi-channel
    # exercise (F.conv2d is).
    "corr2d_multi_in": CONVOLUTION - {"corr2d"}, "corr2d_multi_in_out": CONVOLUTION - {"corr2d"},
    "corr2d_multi_in_out_1x1": CONVOLUTION - {"corr2d"},
    "compose_kernels": CONVOLUTION - {"corr2d"},
    "pad2d": PADDING, "mirror_pad2d": PADDING,
    "pool2d": POOLING, "pool2d_pad_stride": POOLING, "pool2d_multi_channel": POOLING,
    "avg_pool_as_conv": POOLING,                   # F.conv2d is allowed here
    "max_via_relu": MAXIMUM,
})

#: Names and attributes that look a routine up without naming it.
HIDING_NAMES = frozenset({"getattr", "eval", "exec", "compile", "__import__", "vars", "globals",
                          "locals", "attrgetter", "methodcaller", "import_module",
                          "__getattribute__", "__builtins__", "builtins"})
HIDING_ATTRIBUTES = frozenset({"ops", "_C", "__dict__", "modules", "_ops", "__builtins__",
                               "_python_dispatch", "_disable_current_modes"})
#: Names and attributes with which a statement can rebind any global, graded names included.
REBINDING = frozenset({"exec", "eval", "compile", "globals", "vars", "locals", "__import__",
                       "builtins", "__builtins__", "__dict__", "modules", "push", "run_cell",
                       "run_code", "ex", "ev", "user_ns", "user_global_ns", "setattr"})
REBINDING_MAGICS = frozenset({"run", "load", "macro", "store", "load_ext", "writefile"})
#: Modules a solution may import; anything else (say, a helper file next to the notebook)
#: is code this check cannot read, so it counts as a hidden lookup.
KNOWN_MODULES = frozenset({"torch", "numpy", "scipy", "math", "d2l", "course", "matplotlib",
                           "itertools", "functools", "collections", "typing", "random",
                           "warnings", "time", "copy", "dataclasses", "fractions", "sys", "os",
                           "IPython", "ipywidgets", "pandas", "string", "re", "operator"})
HIDDEN = "<hidden lookup>"
REBINDS = "<rebinds globals>"
ANYWHERE = "*"


class _Uses(ast.NodeVisitor):
    """Routine names mentioned, global names read and names bound by one statement."""

    def __init__(self):
        self.mentions, self.names, self.bound = set(), set(), set()

    def visit_Attribute(self, node):
        self.mentions.add(node.attr)
        if node.attr in HIDING_ATTRIBUTES:
            self.mentions.add(HIDDEN)
        if node.attr in REBINDING:
            self.mentions.add(REBINDS)
        self.generic_visit(node)

    def visit_Name(self, node):
        if isinstance(node.ctx, ast.Load):
            self.names.add(node.id)
            if node.id in HIDING_NAMES:
                self.mentions.add(HIDDEN)
            if node.id in REBINDING:
                self.mentions.add(REBINDS)
        else:
            self.bound.add(node.id)
        self.generic_visit(node)

    def visit_Constant(self, node):
        if isinstance(node.value, str) and node.value.isidentifier():
            self.mentions.add(node.value)

    def visit_Call(self, node):
        function = node.func
        name = function.id if isinstance(function, ast.Name) else \
            function.attr if isinstance(function, ast.Attribute) else None
        if name == "getattr" and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant):
            self.visit(node.args[0])  # getattr(x, "conv2d") names what it reads
            self.visit(node.args[1])
            for argument in node.args[2:]:
                self.visit(argument)
            return
        if name in ("run_line_magic", "run_cell_magic") and node.args \
                and isinstance(node.args[0], ast.Constant) \
                and node.args[0].value in REBINDING_MAGICS:
            self.mentions |= {HIDDEN, REBINDS}
        self.generic_visit(node)

    def _imports(self, modules, names):
        for module in modules:
            if module.split(".")[0] not in KNOWN_MODULES:
                self.mentions.add(HIDDEN)
        for alias in names:
            self.mentions.add(alias.name.split(".")[-1])
            if alias.name in HIDING_NAMES or alias.name.split(".")[0] in ("importlib", "ctypes"):
                self.mentions.add(HIDDEN)
            self.bound.add((alias.asname or alias.name).split(".")[0])

    def visit_Import(self, node):
        self._imports([alias.name for alias in node.names], node.names)

    def visit_ImportFrom(self, node):
        self._imports([node.module or "."] if node.level == 0 else ["."], node.names)

    def visit_FunctionDef(self, node):
        self.bound.add(node.name)
        for argument in ast.walk(node.args):
            if isinstance(argument, ast.arg):
                self.bound.add(argument.arg)
        self.generic_visit(node)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_ClassDef(self, node):
        self.bound.add(node.name)
        self.generic_visit(node)


def _python(text):
    """A cell's source as Python (IPython magics and shell escapes transformed)."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
        return TransformerManager().transform_cell(text)
    except Exception:  # noqa: BLE001 (a cell IPython cannot read cannot run either)
        return text


def _targets(statement):
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {statement.name}
    if isinstance(statement, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in statement.names}
    return {node.id for node in ast.walk(statement)
            if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store)}


def _definitions(cells):
    """``{global name: [(mentions, names read), ...]}`` over every parsable cell.

    ``cells`` is a list of ``(source, editable)``; a statement of an editable cell that can
    rebind any global is recorded under ``ANYWHERE``.
    """
    definitions = {}
    for text, editable in cells:
        try:
            tree = ast.parse(_python(text))
        except SyntaxError:
            continue
        for statement in tree.body:
            uses = _Uses()
            uses.visit(statement)
            read = uses.names - uses.bound
            targets = _targets(statement)
            if editable and REBINDS in uses.mentions and not isinstance(
                    statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                targets.add(ANYWHERE)
            for target in targets:
                mentions = uses.mentions | {HIDDEN} if target == ANYWHERE else uses.mentions
                definitions.setdefault(target, []).append((mentions, read - {target}))
    return definitions


def _reach(definitions, name, graded_names):
    """Routine names that global ``name`` mentions, itself or through the names it reads,
    and the other graded functions it reads (those are not followed)."""
    mentions, graded, todo, seen = set(), set(), [name, ANYWHERE], set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        for found, names in definitions.get(current, []):
            mentions |= found
            for used in names & set(definitions):
                if used in graded_names and used != name:
                    graded.add(used)
                else:
                    todo.append(used)
    return mentions, graded


def violations(cells, graded_names):
    """``{test grade id: reason}`` for graded functions that reach their answer's routine.

    ``cells``: ``(source, editable)`` of the code cells the notebook runs; ``graded_names``:
    the names the solution cells define. A function ``f`` is tested by the cell ``test_f``.
    A graded function that uses another one which breaks the rule breaks it too (``Conv2D``
    built on a ``corr2d`` that calls ``F.conv2d``); a routine that is allowed in the one it
    uses is fine (``corr2d_multi_in_out`` on ``corr2d_multi_in``, which may use ``d2l.corr2d``).
    """
    definitions = _definitions(cells)
    reach = {name: _reach(definitions, name, graded_names) for name in graded_names}
    broken = {}
    for name, (mentions, _) in reach.items():
        forbidden = FORBIDDEN.get(name, frozenset())
        if forbidden and HIDDEN in mentions:
            broken[name] = (
                f"{name} looks routines up dynamically (getattr with a computed name, eval, "
                "exec, __import__, torch.ops, __dict__, builtins, unknown modules...): that "
                "counts as calling the library routine that is the answer, so it scores 0")
        elif mentions & forbidden:
            broken[name] = (
                f"{name} calls {', '.join(sorted(mentions & forbidden))}, the library routine "
                "that is the answer: compute it yourself (loops, slicing, unfold, einsum, "
                "matmul); it scores 0")
    changed = True
    while changed:
        changed = False
        for name, (_, used) in reach.items():
            culprit = next((g for g in sorted(used) if g in broken), None)
            if name not in broken and culprit and FORBIDDEN.get(name):
                broken[name] = f"{name} uses {culprit}, which breaks the rule: {broken[culprit]}"
                changed = True
    return {f"test_{name}": reason for name, reason in broken.items()}
