"""First-order mutants of one function's source: one small change each, as a student might
make it (operators, constants and defaults, swapped pairs, min/max, deleted guards...).

``mutants(source)`` parses a ``def`` or ``class``, and yields a ``Mutant`` for every site
and every alternative, in a fixed order; each mutant's ``key`` (the changed lines, before
``=>`` after) names it in the list of accepted survivors.
"""
import ast
import copy
import difflib
from dataclasses import dataclass

BINARY = {ast.Add: [ast.Sub], ast.Sub: [ast.Add], ast.Mult: [ast.Div, ast.Add],
          ast.Div: [ast.Mult], ast.FloorDiv: [ast.Div, ast.Mult], ast.Pow: [ast.Mult],
          ast.Mod: [ast.FloorDiv]}
COMPARE = {ast.Lt: ast.LtE, ast.LtE: ast.Lt, ast.Gt: ast.GtE, ast.GtE: ast.Gt,
           ast.Eq: ast.NotEq, ast.NotEq: ast.Eq, ast.In: ast.NotIn, ast.NotIn: ast.In,
           ast.Is: ast.IsNot, ast.IsNot: ast.Is}
#: Names and attributes a slip turns into their twin.
TWINS = {"min": "max", "max": "min", "amin": "amax", "amax": "amin", "sum": "mean",
         "mean": "sum", "zeros": "ones", "ones": "zeros", "zeros_like": "ones_like",
         "ones_like": "zeros_like", "new_zeros": "new_ones", "stack": "cat", "cat": "stack",
         "relu": "abs", "floor": "ceil", "ceil": "floor"}


@dataclass(frozen=True)
class Mutant:
    """One change of the original: ``source`` is the whole mutated def/class."""
    operator: str
    key: str      # "<original lines> => <mutated lines>"
    diff: str     # unified diff of the function, 0 lines of context
    source: str


def mutants(source):
    """Every first-order mutant of the one def/class in ``source`` (docstrings untouched)."""
    tree = ast.parse(source)
    original = ast.unparse(tree)
    seen = set()
    for index, operator, apply in _sites(tree):
        mutated = copy.deepcopy(tree)
        nodes = list(_walk(mutated))
        apply(nodes[index][0], nodes[index][1])
        text = ast.unparse(ast.fix_missing_locations(mutated))
        if text == original or text in seen:
            continue
        seen.add(text)
        before, after = original.splitlines(), text.splitlines()
        lines = list(difflib.unified_diff(before, after, lineterm="", n=0))[2:]  # no header
        removed = [line[1:].strip() for line in lines if line.startswith("-")]
        added = [line[1:].strip() for line in lines if line.startswith("+")]
        yield Mutant(operator, f"{' / '.join(removed)} => {' / '.join(added)}",
                     "\n".join(lines), text)


def _walk(tree):
    """``(node, parent)`` pairs in a fixed order, skipping docstrings and f-strings."""
    todo = [(tree, None)]
    while todo:
        node, parent = todo.pop(0)
        if isinstance(node, ast.JoinedStr) or _is_docstring(node, parent):
            continue
        yield node, parent
        todo.extend((child, node) for child in ast.iter_child_nodes(node))


def _is_docstring(node, parent):
    return (isinstance(node, ast.Expr) and isinstance(parent, (ast.FunctionDef, ast.ClassDef))
            and parent.body[0] is node and isinstance(node.value, ast.Constant))


def _sites(tree):
    """``(index in _walk order, operator, apply(node, parent))`` for every mutation."""
    strings = {n.value for n, _ in _walk(tree) if isinstance(n, ast.Constant)
               and isinstance(n.value, str) and n.value.replace("-", "").isidentifier()}
    for index, (node, parent) in enumerate(_walk(tree)):
        for operator, apply in _alternatives(node, parent, strings):
            yield index, operator, apply


def _set(field, value):
    def apply(node, parent):
        setattr(node, field, value() if callable(value) else value)
    return apply


def _replace_in_parent(make):
    """Replace the node where its parent holds it by ``make(node)``."""
    def apply(node, parent):
        for field, value in ast.iter_fields(parent):
            if value is node:
                setattr(parent, field, make(node))
            elif isinstance(value, list) and any(item is node for item in value):
                value[:] = [make(node) if item is node else item for item in value]
    return apply


def _swap(field, first=0):
    def apply(node, parent):
        items = getattr(node, field)
        items[first], items[first + 1] = items[first + 1], items[first]
    return apply


def _alternatives(node, parent, strings):
    if isinstance(node, ast.BinOp):
        for op in BINARY.get(type(node.op), []):
            yield "arithmetic operator", _set("op", op)
    elif isinstance(node, ast.AugAssign) and type(node.op) in BINARY:
        yield "arithmetic operator", _set("op", BINARY[type(node.op)][0])
    elif isinstance(node, ast.BoolOp):
        yield "and/or", _set("op", ast.Or if isinstance(node.op, ast.And) else ast.And)
    elif isinstance(node, ast.Compare):
        for position, op in enumerate(node.ops):
            def apply(node, parent, position=position, op=op):
                node.ops[position] = COMPARE[type(op)]()
            yield "comparison", apply
    elif isinstance(node, ast.UnaryOp) and isinstance(node.op, (ast.USub, ast.Not)):
        yield "unary operator deleted", _replace_in_parent(lambda n: n.operand)
    elif isinstance(node, ast.Constant):
        yield from _constants(node, strings)
    elif isinstance(node, ast.Name) and node.id in TWINS and isinstance(node.ctx, ast.Load):
        yield "twin routine", _set("id", TWINS[node.id])
    elif isinstance(node, ast.Attribute) and node.attr in TWINS:
        yield "twin routine", _set("attr", TWINS[node.attr])
    if isinstance(node, ast.Call):
        if len(node.args) >= 2 and not any(isinstance(a, ast.Starred) for a in node.args[:2]):
            yield "arguments swapped", _swap("args")
        for position in range(len(node.keywords)):
            def apply(node, parent, position=position):
                del node.keywords[position]
            yield "keyword argument deleted", apply
    if isinstance(node, (ast.Tuple, ast.List)) and len(node.elts) == 2:
        yield "pair swapped", _swap("elts")
    if isinstance(node, ast.stmt) and _deletable(node, parent):
        yield "statement deleted", _replace_in_parent(lambda n: ast.Pass())


def _constants(node, strings):
    value = node.value
    if isinstance(value, bool):
        yield "constant", _set("value", not value)
    elif isinstance(value, int):
        yield "constant", _set("value", value + 1)
        yield "constant", _set("value", value - 1)
    elif isinstance(value, float):
        yield "constant", _set("value", value + 1.0)
    elif isinstance(value, str) and value in strings:
        flipped = value[1:] if value.startswith("-") else "-" + value
        for other in sorted(strings - {value}) + ([flipped] if value.endswith("inf") else []):
            yield "constant", _set("value", other)


def _deletable(node, parent):
    """A guard (an ``if`` that raises), a call statement, an augmented or item assignment."""
    if parent is None or isinstance(node, (ast.FunctionDef, ast.ClassDef, ast.Return)):
        return False
    if isinstance(node, ast.If):
        return any(isinstance(n, ast.Raise) for n in node.body)
    if isinstance(node, ast.Assign):
        return all(isinstance(t, ast.Subscript) for t in node.targets)
    return isinstance(node, (ast.Expr, ast.AugAssign))
