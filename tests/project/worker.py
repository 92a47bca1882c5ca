"""Starts a real `celery -A project worker` process that shares pytest's test database and broker."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection

from project.celery import app as celery_app

# A job kind (and so a queue) of the tests' own, per xdist worker: no other test's job can reach this
# worker, and no other worker can take these jobs. The worker process inherits the variable.
QUEUE = "wtest-" + os.environ.get("PYTEST_XDIST_WORKER", "main")
TASK_NAME = "tests.project.worker_tasks.run_test_job"
READY_TIMEOUT = 90


def worker_environment() -> dict[str, str]:
    env = {**os.environ, "PYTHONUNBUFFERED": "1", "VODSCOPE_JOBS_EAGER": "0"}
    db = connection.settings_dict
    if settings.PRODUCTION:
        auth = db["USER"] + (f":{db['PASSWORD']}" if db.get("PASSWORD") else "")
        env["DATABASE_URL"] = f"postgres://{auth}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{db['NAME']}"
    else:
        env["VODSCOPE_SQLITE_PATH"] = str(db["NAME"])
    return env


def purge_queue() -> None:
    with celery_app.connection_for_write() as conn:
        conn.default_channel.queue_purge(QUEUE)


@contextmanager
def running_worker(log_path: Path) -> Iterator[subprocess.Popen[bytes]]:
    purge_queue()
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "project", "worker", "--include", "tests.project.worker_tasks",
             "-Q", QUEUE, "--pool", "solo", "--loglevel", "INFO", "--without-gossip", "--without-mingle",
             "--hostname", f"test-{os.getpid()}-{time.monotonic_ns()}@%h"],
            cwd=settings.BASE_DIR, env=worker_environment(), stdout=log, stderr=subprocess.STDOUT,
        )
    try:
        deadline = time.monotonic() + READY_TIMEOUT
        while b"ready." not in log_path.read_bytes():
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"celery worker did not start:\n{log_path.read_text()[-4000:]}")
            time.sleep(0.2)
        yield process
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
