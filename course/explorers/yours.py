"""The student's function in an explorer: a safe, traced call and a verdict against PyTorch's.

The verdict says what the visible tests say: a right answer that calls the library routine
that is its answer (``course.rules``) gets "it scores 0 when graded", not a plain ✓.
"""
import html
from typing import Any, NamedTuple

import torch

from course.checks import traced_call
from course.rules import ANSWER_FAMILY, library_calls, traced_message


class Call(NamedTuple):
    """What a call of the student's function gave: a result, or a note saying why not; and
    ``library``, the HTML warning when it ran the routine that is its answer ("" if not)."""
    result: Any
    note: Any
    library: str = ""


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
        return Call(None, f"<code>{name}</code> is still a stub: implement it, run its cell, "
                          f"then run this one again")
    except Exception as error:  # the student's code may fail in any way: say how, don't crash
        message = html.escape(f"{type(error).__name__}: {error}")[:200]
        return Call(None, f"your <code>{name}</code> raised <code>{message}</code>")
    families = (ANSWER_FAMILY[graded],) if graded in ANSWER_FAMILY else ()
    used = library_calls(ops, families) if families else []
    library = html.escape(traced_message(graded, used, families)) if used else ""
    return Call(result, None, library)


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
                          f"{wrong} cell(s) differ from PyTorch (red)")


def verdict(ok, yes, no):
    """An HTML verdict: a green check with ``yes`` or a red cross with ``no``."""
    return f'<span class="ok">✓ {yes}</span>' if ok else f'<span class="bad">✗ {no}</span>'
