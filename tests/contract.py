"""The graded contract, docs/contract.md, read as data: each chapter's names and signatures."""
import ast
import inspect
import re

from autograder.coursedir import ROOT

CONTRACT = ROOT / "docs" / "contract.md"

CHAPTER = re.compile(r"^## (\d\d) ")
#: A contract line: "- `name(args) -> ...`" or "- `class Name(Base)` — `Name(args)`, ...".
FUNCTION = re.compile(r"^- `(?P<name>\w+)\((?P<args>[^`]*)\)(?: -> [^`]*)?`")
CLASS = re.compile(r"^- `class (?P<name>\w+)\([^`]*\)` — `(?P=name)\((?P<args>[^`]*)\)`")


def parameters(args):
    """``[(name, default or inspect.Parameter.empty), ...]`` of an argument list's text."""
    tree = ast.parse(f"def f({args}): pass").body[0].args
    defaults = [inspect.Parameter.empty] * (len(tree.args) - len(tree.defaults))
    defaults += [ast.literal_eval(d) for d in tree.defaults]
    return [(a.arg, d) for a, d in zip(tree.args, defaults)]


def contract():
    """``{chapter number "01": {name: [(parameter, default), ...]}}`` in the contract's order."""
    chapters, current = {}, None
    for line in CONTRACT.read_text().splitlines():
        if heading := CHAPTER.match(line):
            current = chapters.setdefault(heading.group(1), {})
        elif current is not None and line.startswith("- "):
            entry = CLASS.match(line) or FUNCTION.match(line)
            if entry is None:
                raise ValueError(f"{CONTRACT.name}: not a graded name and signature: {line}")
            current[entry.group("name")] = parameters(entry.group("args"))
    return chapters


def signature_of(obj):
    """``[(name, default), ...]`` of a function, or of a class's constructor without ``self``."""
    signature = inspect.signature(obj.__init__ if inspect.isclass(obj) else obj)
    return [(p.name, p.default) for p in signature.parameters.values() if p.name != "self"]


def defined_in(code, name):
    """``[(name, default), ...]`` of ``name`` as a cell's code defines it (a def or a class)."""
    for node in ast.parse(code).body:
        if isinstance(node, ast.FunctionDef) and node.name == name:
            return parameters(ast.unparse(node.args))
        if isinstance(node, ast.ClassDef) and node.name == name:
            (init,) = [n for n in node.body if isinstance(n, ast.FunctionDef) and n.name == "__init__"]
            return parameters(ast.unparse(init.args))[1:]
    raise LookupError(f"{name} is not defined in its cell")
