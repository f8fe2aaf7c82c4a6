"""No module of ``autograder/`` or ``course/`` imports one that imports it back (read from the
AST, imports inside functions included: a lazy import hides a circle, it does not remove it)."""
import ast
from pathlib import Path

import networkx
import pytest

from autograder.coursedir import ROOT

PACKAGES = ("autograder", "course")


def module_name(path, root):
    parts = path.relative_to(root).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def imports(path, name, modules):
    """The modules of ``modules`` that the module ``name`` at ``path`` imports (a package's
    module, not the package: every import of a module runs its package's ``__init__`` first)."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = package.split(".")[:len(package.split(".")) - node.level + 1] if node.level else []
            origin = ".".join(base + ([node.module] if node.module else []))
            for alias in node.names:   # a module of a package, else a name the package has
                found.add(f"{origin}.{alias.name}" if f"{origin}.{alias.name}" in modules
                          else origin)
    return found & modules - {name}


def import_graph(root, packages=PACKAGES):
    """``networkx.DiGraph``: an edge from each module to each module of ``packages`` it imports."""
    paths = {module_name(p, root): p for package in packages
             for p in sorted(Path(root, package).rglob("*.py"))}
    graph = networkx.DiGraph()
    graph.add_nodes_from(paths)
    for name, path in paths.items():
        graph.add_edges_from((name, other) for other in imports(path, name, set(paths)))
    return graph


def circles(graph):
    """Each group of modules that import each other, directly or through others, sorted."""
    return sorted(sorted(group) for group in networkx.strongly_connected_components(graph)
                  if len(group) > 1)


def test_no_module_imports_one_that_imports_it_back():
    assert circles(import_graph(ROOT)) == []


def test_a_circle_is_found_however_it_is_written(tmp_path):
    files = {
        "pkg/__init__.py": "",
        "pkg/cli.py": "def main():\n    from pkg.record import export\n",
        "pkg/record/__init__.py": "",
        "pkg/record/export.py": "from ..cli import main\n",
        "pkg/safe.py": "from pkg.record import feedback\n",
        "pkg/record/feedback.py": "def f():\n    import pkg.safe\n",
        "pkg/alone.py": "import pkg.record.feedback\nfrom . import cli\n",
    }
    for name, text in files.items():
        Path(tmp_path, name).parent.mkdir(parents=True, exist_ok=True)
        Path(tmp_path, name).write_text(text)
    assert circles(import_graph(tmp_path, ("pkg",))) == [
        ["pkg.cli", "pkg.record.export"], ["pkg.record.feedback", "pkg.safe"]]
