"""Grade: one submission in, one results record out (``job.grade``)."""
