"""The student's function in an explorer: found at every redraw, called safely (traced), and
judged against PyTorch's.

An explorer never keeps a stale copy: ``Answer`` looks the graded function up by name in the
notebook's namespace each time it is called, and ``watch`` redraws an explorer after any cell
that changed the definition, so the picture agrees with the test cell just run. The verdict says
what the visible tests say: a right answer that calls the library routine that is its answer
(``course.rules``) gets "it scores 0 when graded", not a plain ✓.
"""
import html
import re
import weakref
from typing import Any, NamedTuple

import torch

from course.checks import traced_call
from course.rules import ANSWER_FAMILY, library_calls, traced_message


class Call(NamedTuple):
    """What a call of the student's function gave: a result, or a note saying why not;
    ``library``, the HTML warning when it ran the routine that is its answer ("" if not); and
    ``source``, which definition was called (HTML, "" when none)."""
    result: Any
    note: Any
    library: str = ""
    source: str = ""


class Answer:
    """The student's graded function ``name`` as an explorer uses it: ``function`` when one is
    passed, else the latest definition of ``name`` in the notebook (IPython's namespace), looked
    up anew at every call."""

    def __init__(self, name, function=None):
        self.name, self.given = name, function

    def lookup(self):
        """``(function or None, where)``: the definition to use and an HTML phrase naming it."""
        if self.given is not None:
            return self.given, "passed to this explorer (re-run this cell after changing it)"
        shell = _shell()
        if shell is None:
            return None, ""
        cell = defining_cell(shell, self.name)
        return shell.user_ns.get(self.name), (f"from cell [{cell}]" if cell else
                                              "(its latest definition)")

    def call(self, *args, **kwargs):
        """``call_student`` on the current definition; the ``Call``'s ``source`` names it."""
        function, where = self.lookup()
        name = html.escape(self.name)
        if function is None and _shell() is not None:
            return Call(None, f"<code>{name}</code> is not defined in this kernel yet: run the "
                              f"cell with <code>def {name}</code> (its exercise, above); this "
                              f"explorer then uses it by itself")
        call = call_student(function, *args, graded=self.name, **kwargs)
        source = f"your <code>{name}</code> {where}" if function is not None else ""
        return call._replace(source=source)


def _shell():
    """The running IPython shell, or None outside IPython."""
    try:
        from IPython import get_ipython
    except ImportError:
        return None
    shell = get_ipython()
    return shell if shell is not None and hasattr(shell, "user_ns") else None


def defining_cell(shell, name):
    """The execution count of the latest cell that defined ``name`` (``def``, ``class`` or an
    assignment at the top level), or None."""
    pattern = re.compile(rf"^(?:def|class)\s+{re.escape(name)}\b|^{re.escape(name)}\s*=", re.M)
    cells = shell.user_ns.get("In") or []
    return next((count for count in range(len(cells) - 1, 0, -1)
                 if pattern.search(cells[count])), None)


#: The live explorers that use a student's function, redrawn when a cell changes it.
_WATCHED = weakref.WeakSet()


def watch(explorer):
    """Redraw ``explorer`` after every cell that changes one of its ``answers``' definitions
    (IPython's ``post_run_cell``), so that it agrees with the test cell just run."""
    shell = _shell()
    if shell is None:
        return
    if not _WATCHED:
        callbacks = shell.events.callbacks["post_run_cell"]
        if _redraw_changed not in callbacks:
            shell.events.register("post_run_cell", _redraw_changed)
    _WATCHED.add(explorer)


def _redraw_changed(result=None):
    for explorer in list(_WATCHED):
        if explorer.answers_changed():
            explorer.refresh()


def call_student(function, *args, graded=None, **kwargs):
    """Run the student's ``function`` (the graded function ``graded``, traced) -> ``Call``.

    A missing function (None), a stub that raises ``NotImplementedError`` or any other error gives
    a short HTML note instead of a result, so that the explorer keeps working.
    """
    if function is None:
        return Call(None, "pass your function to the explorer to see your answer next to "
                          "PyTorch's")
    name = html.escape(getattr(function, "__name__", "your function"))
    try:
        result, ops = traced_call(function, *args, **kwargs)
    except NotImplementedError:
        return Call(None, f"<code>{name}</code> is still a stub: implement it and run its "
                          f"cell; this explorer then redraws with it")
    except Exception as error:  # the student's code may fail in any way: say how, don't crash
        message = html.escape(f"{type(error).__name__}: {error}")[:200]
        return Call(None, f"your <code>{name}</code> raised <code>{message}</code>")
    families = (ANSWER_FAMILY[graded],) if graded in ANSWER_FAMILY else ()
    used = library_calls(ops, families) if families else []
    library = html.escape(traced_message(graded, used, families)) if used else ""
    return Call(result, None, library)


def checked(call):
    """The caption's line naming the definition the explorer called ("" when none)."""
    return f"<br><small>Checked: {call.source}.</small>" if call.source else ""


def compare_outputs(yours, expected, library=""):
    """``(tensor or None, html)``: the student's output as a 2-D float tensor, and a verdict.

    Leading dimensions of size 1 are dropped; the tensor is None when there is nothing sensible
    to draw (not a tensor, not 2-D, or too large to write out). ``library`` (a ``Call``'s)
    replaces the ✓ of a right answer.
    """
    try:
        yours = torch.as_tensor(yours).detach().float()
    except (TypeError, ValueError, RuntimeError):
        return None, verdict(False, "", f"your function returned a {type(yours).__name__}, "
                                        f"not a tensor")
    while yours.dim() > 2 and yours.shape[0] == 1:
        yours = yours[0]
    if yours.shape != expected.shape:
        drawable = yours.dim() == 2 and yours.numel() <= 100
        return yours if drawable else None, verdict(
            False, "", f"your output has shape {tuple(yours.shape)}, PyTorch's "
                       f"{tuple(expected.shape)}")
    wrong = int((~torch.isclose(yours, expected, atol=1e-4, rtol=1e-4)).sum())
    if library:
        return yours, verdict(False, "", f"{library}" if wrong else
                              f"your answer matches PyTorch, but {library}")
    return yours, verdict(wrong == 0, "your answer matches PyTorch",
                          f"{wrong} cell(s) differ from PyTorch (hatched)")


def verdict(ok, yes, no):
    """An HTML verdict: a green check with ``yes`` or a red cross with ``no``."""
    return f'<span class="ok">✓ {yes}</span>' if ok else f'<span class="bad">✗ {no}</span>'
