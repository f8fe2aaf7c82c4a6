"""docs/scale-out.md's SLURM and Kubernetes set-ups, run as written against the real
dask-jobqueue and dask-kubernetes, with only what needs a real queue or cluster replaced:
``sbatch`` (SLURM's ``scale``), the Kubernetes API (``KubeCluster``) and the grading run
(``run``). They must make one-thread workers running the course's Python, and hand the
cluster's scheduler to ``run``."""
import re
import shlex

import pytest

from autograder.run import coordinator
from autograder.coursedir import ROOT


def _block(after):
    """The first python code block of docs/scale-out.md after the text ``after``."""
    text = (ROOT / "docs" / "scale-out.md").read_text()
    return re.search(r"```python\n(.*?)```", text[text.index(after):], re.S).group(1)


@pytest.fixture
def runs(monkeypatch):
    """The ``run`` calls the set-up makes: [(args, kwargs)]."""
    calls = []
    monkeypatch.setattr(coordinator, "run", lambda *a, **kw: calls.append((a, kw)))
    return calls


def test_the_slurm_setup_makes_one_thread_workers_and_grades_on_them(runs, monkeypatch):
    import dask
    from dask_jobqueue import SLURMCluster
    saturation = dask.config.get("distributed.scheduler.worker-saturation")
    scaled = []
    monkeypatch.setattr(SLURMCluster, "scale", lambda self, n=None, **kw: scaled.append(kw or n))
    namespace = {}
    exec(_block("## SLURM"), namespace)
    cluster = namespace["cluster"]
    try:
        script = cluster.job_script()
        worker = shlex.split(script.strip().splitlines()[-1])
        assert worker[:3] == ["/path/to/course/.venv/bin/python", "-m",
                              "distributed.cli.dask_worker"]
        assert worker[worker.index("--nthreads") + 1] == "1"
        assert worker[worker.index("--nworkers") + 1] == "8"
        assert "#SBATCH --exclusive" in script and "#SBATCH -p normal" in script
        assert scaled == [{"jobs": 16}]                      # what sbatch would be asked
        assert dask.config.get("distributed.scheduler.worker-saturation") == 1.0
        (args, kwargs), = runs
        assert args == ("submitted/", "out/")
        assert kwargs["scheduler"] == cluster.scheduler_address
        assert kwargs["db_url"].startswith("postgresql+psycopg://")
    finally:
        cluster.close()
        dask.config.set({"distributed.scheduler.worker-saturation": saturation})


def test_the_kubernetes_setup_makes_one_thread_workers_and_grades_on_them(runs, monkeypatch):
    import dask_kubernetes.operator as operator
    made = []

    class KubeCluster:   # the Kubernetes API is not here: keep the spec it would be given
        scheduler_address = "tcp://autograde-scheduler:8786"

        def __init__(self, custom_cluster_spec):
            made.append(custom_cluster_spec)

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    monkeypatch.setattr(operator, "KubeCluster", KubeCluster)
    exec(_block("## Kubernetes"), {})
    (spec,) = made
    worker = spec["spec"]["worker"]
    container, = worker["spec"]["containers"]
    assert worker["replicas"] == 64
    assert container["image"] == "registry.example.edu/cnn-course:2026"
    assert container["args"][:4] == ["dask", "worker", "--nthreads", "1"]
    assert container["securityContext"] == {"privileged": True}
    assert container["resources"]["limits"] == {"cpu": "1", "memory": "4G"}
    (args, kwargs), = runs
    assert args == ("submitted/", "out/")
    assert kwargs["scheduler"] == KubeCluster.scheduler_address
