"""A notebook's code cells read (never run) as one program: the bindings of every global.

Each top-level statement binds globals (a def, class, import, assignment, a loop variable,
a function body's ``global``...). For each binding we keep the routine names its statement
mentions (attributes, imported names, constant strings), the globals it reads when it runs
(``now``) and when a function it defines is called (``later``), and whether it replaces the
bindings before it (``definite``) or, inside an ``if``, loop or ``try``, adds to them.
Cells are read after IPython's own input transformation (``%magic`` lines do not hide code).
"""
import ast
from dataclasses import dataclass

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


_DEFINITE = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef, ast.Import, ast.ImportFrom,
             ast.Assign, ast.AnnAssign, ast.AugAssign)


class _Uses(ast.NodeVisitor):
    """What one top-level statement does with names: the routine names it mentions, the
    globals it binds (``targets``; ``sticky``: bound by a function body's ``global``), and
    the globals it reads when it runs (``now``) or when a function it defines is called
    (``later``). Each function, lambda, class and comprehension is a scope of its own."""

    def __init__(self):
        self.mentions, self.targets, self.sticky = set(), set(), set()
        self.now, self.later = set(), set()
        self._scopes = []   # [kind, locals, loads {(name, deferred)}, declared globals]

    def _deferred(self):
        return bool(self._scopes) and any(kind == "function" for kind, *_ in self._scopes)

    def _bind(self, name, comprehension_escapes=False):
        scopes = [s for s in self._scopes if not (comprehension_escapes and s[0] == "comp")]
        if not scopes:
            self.targets.add(name)
        elif name in scopes[-1][3]:
            self.sticky.add(name)
        else:
            scopes[-1][1].add(name)

    def _load(self, name):
        if self._scopes:
            self._scopes[-1][2].add((name, self._deferred()))
        else:
            self.now.add(name)

    def _scope(self, kind, names, body):
        """Visit ``body`` (nodes) in a new scope whose locals start as ``names``."""
        self._scopes.append([kind, set(names), set(), set()])
        for node in body:
            self.visit(node)
        _, local, loads, _ = self._scopes.pop()
        free = {(name, deferred) for name, deferred in loads if name not in local}
        if self._scopes:
            self._scopes[-1][2].update(free)
        else:
            for name, deferred in free:
                (self.later if deferred else self.now).add(name)

    def visit_Attribute(self, node):
        self.mentions.add(node.attr)
        if node.attr in HIDING_ATTRIBUTES:
            self.mentions.add(HIDDEN)
        if node.attr in REBINDING:
            self.mentions.add(REBINDS)
        self.generic_visit(node)

    def visit_Name(self, node):
        if isinstance(node.ctx, ast.Load):
            self._load(node.id)
            if node.id in HIDING_NAMES:
                self.mentions.add(HIDDEN)
            if node.id in REBINDING:
                self.mentions.add(REBINDS)
        elif isinstance(node.ctx, ast.Store):
            self._bind(node.id)

    def visit_NamedExpr(self, node):
        self.visit(node.value)
        self._bind(node.target.id, comprehension_escapes=True)

    def visit_Global(self, node):
        if self._scopes:
            self._scopes[-1][3].update(node.names)

    def visit_ExceptHandler(self, node):
        if node.name:
            self._bind(node.name)
        self.generic_visit(node)

    def visit_Constant(self, node):
        if isinstance(node.value, str) and node.value.isidentifier():
            self.mentions.add(node.value)

    def visit_Call(self, node):
        function = node.func
        name = function.id if isinstance(function, ast.Name) else \
            function.attr if isinstance(function, ast.Attribute) else None
        if name in ("run_line_magic", "run_cell_magic") and node.args \
                and isinstance(node.args[0], ast.Constant) \
                and node.args[0].value in REBINDING_MAGICS:
            self.mentions |= {HIDDEN, REBINDS}
        if name == "getattr" and len(node.args) >= 2 and isinstance(node.args[1], ast.Constant):
            for argument in node.args:   # getattr(x, "conv2d") names what it reads
                self.visit(argument)
            return
        self.generic_visit(node)

    def _imports(self, modules, names):
        for module in modules:
            if module.split(".")[0] not in KNOWN_MODULES:
                self.mentions.add(HIDDEN)
        for alias in names:
            self.mentions.add(alias.name.split(".")[-1])
            if alias.name in HIDING_NAMES or alias.name.split(".")[0] in ("importlib", "ctypes"):
                self.mentions.add(HIDDEN)
            self._bind((alias.asname or alias.name).split(".")[0])

    def visit_Import(self, node):
        self._imports([alias.name for alias in node.names], node.names)

    def visit_ImportFrom(self, node):
        self._imports([node.module or "."] if node.level == 0 else ["."], node.names)

    def _arguments(self, args):
        """Defaults are evaluated where the function is defined; the names are its locals."""
        for default in args.defaults + [d for d in args.kw_defaults if d is not None]:
            self.visit(default)
        return {a.arg for a in ast.walk(args) if isinstance(a, ast.arg)}

    def visit_FunctionDef(self, node):
        for expression in node.decorator_list + [node.returns]:
            if expression is not None:
                self.visit(expression)
        self._scope("function", self._arguments(node.args), node.body)
        self._bind(node.name)

    visit_AsyncFunctionDef = visit_FunctionDef

    def visit_Lambda(self, node):
        self._scope("function", self._arguments(node.args), [node.body])

    def visit_ClassDef(self, node):
        for expression in node.decorator_list + node.bases + node.keywords:
            self.visit(expression)
        self._scope("class", (), node.body)
        self._bind(node.name)

    def _comprehension(self, node):
        parts = [node.key, node.value] if isinstance(node, ast.DictComp) else [node.elt]
        self._scope("comp", (), node.generators + parts)

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _comprehension


def _python(text):
    """A cell's source as Python (IPython magics and shell escapes transformed)."""
    try:
        from IPython.core.inputtransformer2 import TransformerManager
        return TransformerManager().transform_cell(text)
    except Exception:  # noqa: BLE001 (a cell IPython cannot read cannot run either)
        return text


@dataclass(frozen=True)
class Binding:
    """One top-level statement's binding of a global ``name``, in program order (``index``)."""
    index: int
    name: str
    cell: int           # the notebook cell's number
    line: str           # the statement's first line
    mentions: frozenset
    now: frozenset      # globals read when the statement runs
    later: frozenset    # globals read when a function it defines is called
    late: bool          # a plain def or class: its bodies run only when it is called
    definite: bool      # replaces the earlier bindings of ``name``
    sticky: bool = False   # bound by a function's `global`: at any time after ``index``

    def where(self):
        what = "a statement that can rebind any global" if self.name == ANYWHERE \
            else f"`{self.name}`"
        return f"{what} (cell {self.cell}: `{self.line}`)"


class Program:
    """The bindings of the notebook's code cells, in the order they run.

    ``cells``: ``(number, source, editable)``; a statement of an editable cell that can
    rebind any global (``exec``, ``globals()``...) is recorded under ``ANYWHERE``.
    """

    def __init__(self, cells):
        self.bindings, self.end = {}, 0
        self.starts = []   # (cell number, index of its first statement)
        for number, text, editable in cells:
            self.starts.append((number, self.end))
            python = _python(text)
            try:
                tree = ast.parse(python)
            except SyntaxError:
                continue
            lines = python.splitlines()
            for statement in tree.body:
                self._add(statement, number, lines[statement.lineno - 1].strip()[:70], editable)

    def _add(self, statement, cell, line, editable):
        uses = _Uses()
        uses.visit(statement)
        now = uses.now | ({statement.target.id} if isinstance(statement, ast.AugAssign)
                          and isinstance(statement.target, ast.Name) else set())
        plain = isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef)) and not (
            statement.decorator_list) or isinstance(statement, ast.ClassDef) and not (
            statement.decorator_list or any(isinstance(n, ast.Call) for s in statement.body
                                            if not isinstance(s, ast.FunctionDef)
                                            for n in ast.walk(s)))
        direct = _direct_targets(statement) if isinstance(statement, _DEFINITE) else set()
        common = dict(index=self.end, cell=cell, line=line, mentions=frozenset(uses.mentions),
                      now=frozenset(now), later=frozenset(uses.later), late=plain)
        for name in uses.targets | uses.sticky:
            self.bindings.setdefault(name, []).append(Binding(
                name=name, definite=name in direct and name not in uses.sticky,
                sticky=name in uses.sticky and name not in uses.targets, **common))
        if editable and REBINDS in uses.mentions and not isinstance(
                statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            self.bindings.setdefault(ANYWHERE, []).append(Binding(
                name=ANYWHERE, definite=False, **dict(common, mentions=common["mentions"]
                                                       | {HIDDEN}, late=False)))
        self.end += 1

    def live(self, name, time):
        """The bindings of ``name`` that can be live just before statement ``time``."""
        live = []
        for binding in self.bindings.get(name, []):
            if binding.index >= time:
                break
            if binding.definite:
                live = [b for b in live if b.sticky]
            live.append(binding)
        return live

    def window(self, name, start, end):
        """The bindings of ``name`` that can be live at any time from ``start`` to ``end``."""
        later = [b for b in self.bindings.get(name, []) if start <= b.index < end]
        return self.live(name, start) + later

    def time_at(self, number):
        """The time (statement index) of the notebook's cell ``number`` (a cell this program
        does not hold, such as a test cell): after every statement of the cells before it."""
        return next((start for cell, start in self.starts if cell > number), self.end)


def _direct_targets(statement):
    if isinstance(statement, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
        return {statement.name}
    if isinstance(statement, (ast.Import, ast.ImportFrom)):
        return {(a.asname or a.name).split(".")[0] for a in statement.names}
    targets = statement.targets if isinstance(statement, ast.Assign) else [statement.target]
    names, todo = set(), list(targets)
    while todo:
        node = todo.pop()
        if isinstance(node, ast.Name):
            names.add(node.id)
        elif isinstance(node, (ast.Tuple, ast.List, ast.Starred)):
            todo.extend(node.elts if not isinstance(node, ast.Starred) else [node.value])
    return names
