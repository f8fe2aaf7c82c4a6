"""The instructor side: the answer key and the grading pipeline."""


class GraderError(RuntimeError):
    """The grader itself cannot run (no release, a bad argument, no gradebook); says what to do."""
