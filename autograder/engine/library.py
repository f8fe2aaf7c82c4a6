"""The contract's rule, checked on the code: a graded function may not call the library
routine that is its answer (the graded contract, ``docs/contract.md``).

The notebook's code cells are read as one program (``autograder.engine.program``): for every
binding of a global, the routine names it mentions (``F.conv2d``, ``from
torch.nn.functional import conv2d as c``, ``getattr(F, "conv2d")``, ``np.correlate``,
``torch.ops.aten.convolution``...) and the globals it reads. A test cell calls a graded
function where it stands in the notebook (as nbgrader does), so a name it reads resolves to
the binding live there (a student's ``def conv2d`` shadows the notes' earlier ``conv2d =
nn.Conv2d(...)``, and the notes' later one does not count); a function called earlier, or a
value captured earlier, sees the bindings live from that time to the test cell. An accusation
names the path it found: which binding, in which cell.
Lookups that hide the name (``getattr`` with a computed name, ``eval``, ``__import__``,
``importlib``, ``torch.ops``, ``torch._C``, ``__dict__``, ``sys.modules``, a module this check
cannot read) count as reaching every routine; a top-level statement of the student's that can
rebind any global (``exec``, ``globals()``, ``builtins``, IPython's ``push``/``run_cell``/``%run``)
counts for every graded function. The dynamic trace of the hidden tests
(``course.checks.expect_no_library``) is the second line: the grader flags what either finds
with the same words (``course.checks.library_message``).
"""
import collections

from autograder.engine.program import ANYWHERE, HIDDEN, Program
from course import checks

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


def _reach(program, name, graded_names, end):
    """``(found, graded)``: every binding that calling ``name`` at ``end`` (where its test
    cell runs) can reach, with the path to it (bindings, first the graded function's), and the
    other graded functions it uses as they are at that time (those are judged on their own).
    Nothing bound at or after ``end`` is reached: that code has not run yet."""
    found, graded, seen = [], set(), set()
    todo = collections.deque((b, end, (b,)) for b in program.live(name, end) + [
        b for b in program.bindings.get(ANYWHERE, []) if b.index < end])
    while todo:
        binding, time, path = todo.popleft()
        if (binding, time) in seen:
            continue
        seen.add((binding, time))
        found.append(path)
        start = max(time, binding.index + 1) if binding.late else binding.index
        reads = [(r, binding.index, program.live(r, binding.index) + [
            b for b in program.bindings.get(r, []) if b.index == binding.index])
            for r in sorted(binding.now)]
        reads += [(r, start, program.window(r, start, end)) for r in sorted(binding.later)]
        for read, begin, bindings in reads:
            final = program.live(read, end)
            for other in bindings:
                if read in graded_names and read != name and other in final:
                    graded.add(read)
                elif other not in path:
                    todo.append((other, max(begin, other.index + 1), path + (other,)))
    return found, graded


def _through(path):
    """Where a path leaves the graded function: '' or ', through `h` (cell 3: `h = ...`)'."""
    hops = path if path[0].name == ANYWHERE else path[1:]
    return ", through " + " -> ".join(b.where() for b in hops) if hops else ""


def violations(cells, graded_names, tests=None):
    """``{test grade id: reason}`` for graded functions that reach their answer's routine.

    ``cells``: ``(number, source, editable)`` of the code cells the notebook runs, in order;
    ``graded_names``: the names the solution cells define; ``tests``: ``{test grade id: cell
    number}``. A function ``f`` is tested by the cell ``test_f`` where it stands (after the
    last cell if it has none): each name resolves to the binding live there, and what later
    cells bind does not count. A graded function that uses another one which breaks the rule
    there breaks it too (``Conv2D`` built on a ``corr2d`` that calls ``F.conv2d``); a routine
    that is allowed in the one it uses is fine (``corr2d_multi_in_out`` on
    ``corr2d_multi_in``, which may use ``d2l.corr2d``).
    """
    program = Program(cells)
    tests = tests or {}
    times = {name: program.time_at(tests[f"test_{name}"]) if f"test_{name}" in tests
             else program.end for name in graded_names}
    broken = {time: _broken(program, graded_names, time) for time in set(times.values())}
    return {f"test_{name}": broken[time][name] for name, time in times.items()
            if name in broken[time]}


def _broken(program, graded_names, time):
    """``{name: reason}`` for the graded functions that break the rule when called at
    ``time``."""
    reach = {name: _reach(program, name, graded_names, time) for name in graded_names}
    broken = {}
    for name, (paths, _) in reach.items():
        forbidden = FORBIDDEN.get(name, frozenset())
        hidden = next((p for p in paths if HIDDEN in p[-1].mentions), None)
        called = next((p for p in paths if p[-1].mentions & forbidden), None)
        if forbidden and hidden:
            broken[name] = (
                f"{name} looks routines up dynamically{_through(hidden)} (getattr with a "
                "computed name, eval, exec, __import__, torch.ops, __dict__, builtins, unknown "
                "modules...): that counts as calling the library routine that is the answer, "
                "so it scores 0")
        elif forbidden and called:
            broken[name] = checks.library_message(
                name, sorted(called[-1].mentions & forbidden), _through(called))
    changed = True
    while changed:
        changed = False
        for name, (_, used) in reach.items():
            culprit = next((g for g in sorted(used) if g in broken), None)
            if name not in broken and culprit and FORBIDDEN.get(name):
                broken[name] = f"{name} uses {culprit}, which breaks the rule: {broken[culprit]}"
                changed = True
    return broken
