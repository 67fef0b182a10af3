"""Run a worker script under ``mpiexec -n N`` with a timeout (the venv's MPICH wheel)."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

WORKERS = Path(__file__).parent / "workers"
ROOT = Path(__file__).parents[2]


def mpiexec() -> str:
    """The mpiexec next to this interpreter (the ``mpich`` wheel puts it in the venv's bin),
    else one on PATH; skips the test, naming what is missing, when MPI is not installed."""
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        pytest.skip("mpi4py is not installed: pip install chainrule[distributed]")
    for candidate in (Path(sys.executable).parent / "mpiexec", shutil.which("mpiexec")):
        if candidate and os.access(candidate, os.X_OK):
            return str(candidate)
    pytest.skip("no mpiexec in the venv or on PATH: pip install chainrule[distributed]")


def run(n: int, script: str, *args: str, timeout: float = 60, cwd: Path | None = None
        ) -> subprocess.CompletedProcess:
    """``mpiexec -n n python workers/script *args``; one BLAS thread per rank."""
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1", MKL_NUM_THREADS="1",
               PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([mpiexec(), "-n", str(n), sys.executable, str(WORKERS / script), *args],
                          capture_output=True, text=True, timeout=timeout, env=env,
                          cwd=cwd or ROOT)


def command(n: int, *argv: str) -> list[str]:
    """``mpiexec -n n argv...`` (a console script such as the venv's ``chainrule``)."""
    return [mpiexec(), "-n", str(n), *argv]


def check(result: subprocess.CompletedProcess, n: int) -> None:
    """Every rank printed ``ok <rank>`` and the job exited 0."""
    detail = f"exit {result.returncode}\nstdout:\n{result.stdout}\nstderr:\n{result.stderr}"
    assert result.returncode == 0, detail
    # ranks' lines may interleave mid-line in mpiexec's forwarded output
    assert sorted(int(r) for r in re.findall(r"ok (\d+)", result.stdout)) == list(range(n)), \
        detail
