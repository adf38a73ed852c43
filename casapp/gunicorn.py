"""gunicorn hooks for production: ``gunicorn casapp.wsgi -c python:casapp.gunicorn --workers 4 …``.

With ``PROMETHEUS_MULTIPROC_DIR`` set, each worker writes its request metrics to files in that directory;
a worker that exits leaves its counters (they are still summed) but its live gauges must go.
"""

from __future__ import annotations

import os
from typing import Any


def child_exit(server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)  # type: ignore[no-untyped-call]
