"""A gunicorn configuration for several workers with Prometheus metrics (docs/deploy.md):

    PROMETHEUS_MULTIPROC_DIR=/run/postsales/metrics \\
        gunicorn -c python:postsales.adapters.web.gunicorn_conf -w 4 -b 127.0.0.1:8000 \\
        'postsales.adapters.web:create_app()'

Each worker writes its samples into PROMETHEUS_MULTIPROC_DIR (prometheus_client's multiprocess
mode) and a scrape of any worker adds them up. The directory is emptied when the master starts,
and a worker that exits is marked dead so its live gauges (the pool) stop counting.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any


def on_starting(server: Any) -> None:
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:  # samples of a previous run would be added to this one's
        shutil.rmtree(folder, ignore_errors=True)
        Path(folder).mkdir(parents=True, exist_ok=True)


def child_exit(server: Any, worker: Any) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
