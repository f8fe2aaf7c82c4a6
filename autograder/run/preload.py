"""Imported by the forkserver that the local pool's workers are forked from
(``lifecycle.start_forkserver``): what each worker would otherwise do for itself as it starts
and grades its first submission, done once before they fork, so that they inherit it: the
grader imported (torch) with torch's meta kernels (``job.warm_torch``), the feedback exporter
and the course book's fingerprints (``feedback.warm``), about 5 s of CPU per worker."""
from autograder.engine import job
from autograder.record import feedback

try:
    job.warm_torch()
    feedback.warm()
except Exception:  # noqa: BLE001 (an error here would kill the forkserver, hence every worker)
    pass           # each worker does it again when it needs it, and reports what fails there
