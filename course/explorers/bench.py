"""Benchmark: time per slider update (state + drawing + PNG) of every explorer.

    python -m course.explorers.bench [--repeat N]

Each slider is moved to its minimum, its maximum and back to its start value, one at a time;
every move redraws the explorer exactly as in a notebook (without the browser round trip).
Wall time is what a student waits; CPU time is the work itself, which is what wall time
would be on an idle machine (on a shared machine wall time also counts waiting for a core).
"""
import argparse
import statistics
import time

from torch.nn import functional as F

from course import explorers
from course.explorers.controls import Slider
from course.explorers.padding_stride import padding_stride_state


# Stand-ins for a student's finished functions (PyTorch's routines, so the "your answer" path
# runs too); they are no answer to the exercises, which must not call these routines.
def library_corr2d(X, K):
    return F.conv2d(X[None, None], K[None, None])[0, 0]


def library_output_shape(input_shape, kernel_size, padding, stride):
    return padding_stride_state(input_shape, kernel_size, padding, stride).output_shape


def library_pool(X, pool_size, stride=None, padding=0, mode="max"):
    pool = F.max_pool2d if mode == "max" else F.avg_pool2d
    return pool(X[None, None], pool_size, stride, padding)[0, 0]


EXPLORERS = {
    "locality_explorer": lambda: explorers.locality_explorer(),
    "correlation_explorer": lambda: explorers.correlation_explorer(library_corr2d),
    "kernel_training_explorer": lambda: explorers.kernel_training_explorer(),
    "padding_stride_explorer": lambda: explorers.padding_stride_explorer(library_output_shape),
    "channels_explorer": lambda: explorers.channels_explorer(),
    "pooling_explorer": lambda: explorers.pooling_explorer(library_pool),
}


def slider_moves(explorer):
    """``(control, value)`` moves: each slider to its extremes and back, each picker through
    its options."""
    moves = []
    for control in explorer.controls.values():
        start = control.value
        if isinstance(control, Slider):
            options = control.options
            moves += [(control, options[0]), (control, options[-1]), (control, start)]
        elif hasattr(control, "options"):
            moves += [(control, option) for option in control.options] + [(control, start)]
    return moves


def time_updates(make, repeat):
    """``(wall, cpu)``: milliseconds of every update while moving a fresh explorer's sliders."""
    explorer = make()
    wall, cpu = [], []
    for _ in range(repeat):
        for control, value in slider_moves(explorer):
            if control.value == value:
                continue
            start, start_cpu = time.perf_counter(), time.process_time()
            control.value = value
            wall.append((time.perf_counter() - start) * 1000)
            cpu.append((time.process_time() - start_cpu) * 1000)
            if explorer.error:
                raise RuntimeError(f"{control.description}={value!r} failed:\n{explorer.error}")
    return wall, cpu


def summary(times):
    """Median, 90th percentile and maximum of ``times``."""
    times = sorted(times)
    return statistics.median(times), times[int(0.9 * (len(times) - 1))], times[-1]


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=3, help="passes over all the sliders")
    args = parser.parse_args(argv)
    print(f"{'milliseconds per update':28} {'updates':>7} | {'wall: median':>12} {'p90':>6} "
          f"{'max':>6} | {'cpu: median':>11} {'p90':>6} {'max':>6}")
    for name, make in EXPLORERS.items():
        wall, cpu = time_updates(make, args.repeat)
        print(f"{name:28} {len(wall):7d} | {'%12.1f %6.1f %6.1f' % summary(wall)} | "
              f"{'%11.1f %6.1f %6.1f' % summary(cpu)}")
    print("goal: under 50 ms per update (state + drawing + PNG encoding)")


if __name__ == "__main__":
    main()
