"""The benchmarks still run (they are not in the suite's timing, and they share the
coordinator's code, so a change there must not break them): ``bench_scale`` on a tiny class,
its coordinator part and its error-record part, printing their numbers."""
import pytest

from autograder.tools import bench_scale

pytestmark = pytest.mark.slow  # runs a benchmark: make test runs it, make test-quick does not


def test_bench_scale_coordinator_and_error_records_run(capsys):
    bench_scale.main(["--submissions", "10", "--skip-grading"])
    bench_scale.main(["--errors", "5"])
    printed = capsys.readouterr().out
    assert "10 synthetic submissions recorded without grading" in printed
    assert "ms per submission" in printed and "per error record" in printed
