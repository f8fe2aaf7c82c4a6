"""A grading run's machinery: the coordinator that orchestrates the steps (``coordinator.run``),
the local process pool (``pool``) or a Dask cluster (``cluster``), and what makes sure nothing
outlives a run (``lifecycle``, ``preload``: the forkserver the workers are forked from)."""
