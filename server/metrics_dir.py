"""The directory the worker processes of ``roundtable serve`` share their metrics
through (prometheus-client's multiprocess mode, see :mod:`server.metrics`).

Prepared by the parent process before uvicorn starts the workers. Light on imports on
purpose: each worker imports the command's module first, before it can answer
uvicorn's health check.
"""

from __future__ import annotations

import atexit
import shutil
import tempfile
from collections.abc import MutableMapping
from pathlib import Path

MULTIPROCESS_VARIABLE = "PROMETHEUS_MULTIPROC_DIR"


def prepare_directory(environ: MutableMapping[str, str], metrics_dir: str | None) -> str:
    """The directory the processes of ``roundtable serve`` share their metrics through,
    set in ``environ`` as ``PROMETHEUS_MULTIPROC_DIR`` for the workers to inherit.

    A directory the variable already names is used as it is (its owner empties it
    between runs). Otherwise ``metrics_dir`` is created if need be and emptied of the
    metrics files of an earlier run, or a new temporary directory is made, removed when
    this process exits.
    """
    given = environ.get(MULTIPROCESS_VARIABLE)
    if given:
        if not Path(given).is_dir():
            raise ValueError(f"{MULTIPROCESS_VARIABLE}={given!r} is not a directory")
        return given
    if metrics_dir:
        path = Path(metrics_dir)
        path.mkdir(parents=True, exist_ok=True)
        # Only the files prometheus-client writes: the directory may hold others.
        for stale in path.glob("*.db"):
            stale.unlink()
    else:
        path = Path(tempfile.mkdtemp(prefix="roundtable-metrics-"))
        atexit.register(shutil.rmtree, path, ignore_errors=True)
    environ[MULTIPROCESS_VARIABLE] = str(path)
    return str(path)
