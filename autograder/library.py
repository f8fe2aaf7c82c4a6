"""The contract's rule, checked on the code: a graded function may not call the library
routine that is its answer (``/work/shared/EXERCISES.md``).

The student's code cells are read (never run) as one program. For every top-level function,
class and assignment we collect the routine names it mentions (``F.conv2d``,
``from torch.nn.functional import conv2d as c``, ``getattr(F, "conv2d")``, ``np.correlate``,
``torch.ops.aten.convolution``...) and the global names it uses; a graded function reaches a
routine if it, or anything it uses through global names (aliases, helpers), mentions it.
Dynamic lookups that hide the name (``getattr`` with a computed name, ``eval``,
``__import__``, ``importlib``, ``torch.ops``, ``torch._C``, ``__dict__``, ``sys.modules``)
count as reaching every routine. The dynamic trace of the hidden tests
(``course.checks.expect_no_library``) is the second line.
"""
import ast

CONVOLUTION = frozenset({
    "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
    "convolution", "_convolution", "conv_tbc", "Conv1d", "Conv2d", "Conv3d",
    "ConvTranspose1d", "ConvTranspose2d", "ConvTranspose3d", "LazyConv1d", "LazyConv2d",
    "mkldnn_convolution", "cudnn_convolution", "slow_conv2d", "thnn_conv2d",
    "correlate", "correlate1d", "correlate2d", "convolve", "convolve1d", "convolve2d",
    "fftconvolve", "oaconvolve", "corr2d"})
POOLING = frozenset({
    "max_pool1d", "max_pool2d", "max_pool3d", "avg_pool1d", "avg_pool2d", "avg_pool3d",
    "max_pool2d_with_indices", "adaptive_max_pool1d", "adaptive_max_pool2d",
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "lp_pool1d", "lp_pool2d",
    "fractional_max_pool2d", "MaxPool1d", "MaxPool2d", "MaxPool3d", "AvgPool1d", "AvgPool2d",
    "AvgPool3d", "AdaptiveMaxPool2d", "AdaptiveAvgPool2d", "LPPool2d", "FractionalMaxPool2d",
    "maximum_filter", "uniform_filter", "block_reduce"})
PADDING = frozenset({
    "pad", "constant_pad_nd", "reflection_pad1d", "reflection_pad2d", "replication_pad1d",
    "replication_pad2d", "ZeroPad2d", "ConstantPad1d", "ConstantPad2d", "ReflectionPad1d",
    "ReflectionPad2d", "ReplicationPad1d", "ReplicationPad2d", "CircularPad2d"})
MAXIMUM = frozenset({"max", "maximum", "fmax", "amax", "clamp", "clamp_min", "clip", "where",
                     "sort", "topk", "hardtanh", "threshold"})
_CORRELATION = ("corr1d", "corr2d", "Conv2D", "conv2d_true", "corr2d_as_matrix",
                "corr2d_pad_stride", "corr2d_multi_in_out", "corr2d_multi_in_out_1x1",
                "compose_kernels")

#: Per graded function: the routine names that are its answer (EXERCISES.md).
FORBIDDEN = {name: CONVOLUTION for name in _CORRELATION}
FORBIDDEN.update({
    "corr2d_multi_in": CONVOLUTION - {"corr2d"},   # the notes use d2l.corr2d here
    "pad2d": PADDING, "mirror_pad2d": PADDING,
    "pool2d": POOLING, "pool2d_pad_stride": POOLING, "pool2d_multi_channel": POOLING,
    "avg_pool_as_conv": POOLING,                   # F.conv2d is allowed here
    "max_via_relu": MAXIMUM,
})

DYNAMIC_CALLS = frozenset({"getattr", "eval", "exec", "compile", "__import__", "vars",
                           "globals", "locals", "attrgetter", "methodcaller", "import_module",
                           "__getattribute__"})
DYNAMIC_ATTRIBUTES = frozenset({"ops", "_C", "__dict__", "modules", "_ops", "__builtins__",
                                "_python_dispatch", "_disable_current_modes"})
DYNAMIC_MODULES = frozenset({"importlib", "ctypes", "builtins", "operator"})
#: Modules a solution may import; anything else (say, a helper file next to the notebook)
#: is code this check cannot read, so it counts as a dynamic lookup.
KNOWN_MODULES = frozenset({"torch", "numpy", "scipy", "math", "d2l", "course", "matplotlib",
                           "itertools", "functools", "collections", "typing", "random",
                           "warnings", "time", "copy", "dataclasses", "fractions", "sys", "os",
                           "IPython", "ipywidgets", "pandas", "string", "re"})
DYNAMIC = "<dynamic lookup>"


class _Uses(ast.NodeVisitor):
    """Routine names mentioned and global names read by one top-level statement."""

    def __init__(self):
        self.mentions, self.names, self.bound = set(), set(), set()

    def visit_Attribute(self, node):
        self.mentions.add(node.attr)
        if node.attr in DYNAMIC_ATTRIBUTES:
            self.mentions.add(DYNAMIC)
        self.generic_visit(node)

    def visit_Name(self, node):
        if isinstance(node.ctx, ast.Load):
            self.names.add(node.id)
            if node.id in DYNAMIC_CALLS | DYNAMIC_MODULES | {"__builtins__"}:
                self.mentions.add(DYNAMIC)
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
        if name == "getattr" and len(node.args) >= 2 and not (
                isinstance(node.args[1], ast.Constant) and isinstance(node.args[1].value, str)):
            self.mentions.add(DYNAMIC)
        if name in DYNAMIC_CALLS - {"getattr"}:
            self.mentions.add(DYNAMIC)
        self.generic_visit(node)

    def _imports(self, modules, names):
        for module in modules:
            top = module.split(".")[0]
            if top in DYNAMIC_MODULES or top not in KNOWN_MODULES:
                self.mentions.add(DYNAMIC)
        for alias in names:
            self.mentions.add(alias.name.split(".")[-1])
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


def _definitions(sources):
    """``{global name: [(mentions, names read), ...]}`` over every parsable cell."""
    definitions = {}
    for text in sources:
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        for statement in tree.body:
            uses = _Uses()
            uses.visit(statement)
            targets = _targets(statement)
            for target in targets:
                definitions.setdefault(target, []).append((uses.mentions,
                                                           uses.names - uses.bound - {target}))
    return definitions


def _targets(statement):
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {statement.name}
    names = set()
    if isinstance(statement, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in statement.names}
    for node in ast.walk(statement):
        if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Store):
            names.add(node.id)
    return names


def reached(definitions, name, graded_names=()):
    """Every routine name that global ``name`` mentions, itself or through the names it uses.

    Other graded functions are not followed: each is judged by its own test cell.
    """
    mentions, todo, seen = set(), [name], set()
    while todo:
        current = todo.pop()
        if current in seen:
            continue
        seen.add(current)
        for found, names in definitions.get(current, []):
            mentions |= found
            todo += [n for n in names if n in definitions and n not in graded_names]
    return mentions


def violations(sources, graded_names):
    """``{test grade id: reason}`` for graded functions that reach their answer's routine.

    ``sources``: the code cells the student's notebook runs; ``graded_names``: the names
    the solution cells define. A function ``f`` is tested by the cell ``test_f``.
    """
    found, definitions = {}, _definitions(sources)
    for name in graded_names:
        forbidden = FORBIDDEN.get(name)
        if not forbidden:
            continue
        used = reached(definitions, name, graded_names)
        if DYNAMIC in used:
            found[f"test_{name}"] = (
                f"{name} looks routines up dynamically (getattr with a computed name, eval, "
                "__import__, torch.ops, __dict__...): that counts as calling the library "
                "routine that is the answer, so it scores 0")
        elif used & forbidden:
            routines = ", ".join(sorted(used & forbidden))
            found[f"test_{name}"] = (
                f"{name} calls {routines}, the library routine that is the answer: "
                "compute it yourself (loops, slicing, unfold, einsum, matmul); it scores 0")
    return found
