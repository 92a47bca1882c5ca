"""Starts a real `celery -A project worker` process that shares pytest's test database and broker."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from pathlib import Path

from django.conf import settings
from django.db import connection

from project.celery import app as celery_app

# A job kind (and so a queue) of the tests' own, per xdist worker: no other test's job can reach this
# worker, and no other worker can take these jobs. The worker process inherits the variable.
QUEUE = "wtest-" + os.environ.get("PYTEST_XDIST_WORKER", "main")
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


def queue_length(queue: str) -> int:
    with celery_app.connection_for_write() as conn:
        return conn.default_channel.queue_declare(queue=queue, passive=True).message_count


def purge_queues(queues: Iterable[str]) -> None:
    with celery_app.connection_for_write() as conn:
        for queue in queues:
            conn.default_channel.queue_purge(queue)


def pool_children(process: subprocess.Popen[bytes]) -> list[int]:
    """The prefork pool's child processes (the ones that run jobs) of a worker started here; any thread of
    the worker may have forked them."""
    tasks = Path(f"/proc/{process.pid}/task").iterdir()
    return sorted({int(pid) for task in tasks for pid in (task / "children").read_text().split()})


@contextmanager
def running_worker(
    log_path: Path,
    *,
    queues: Iterable[str] = (QUEUE,),
    pool: str = "solo",
    env: dict[str, str] | None = None,
    purge: bool = True,
) -> Iterator[subprocess.Popen[bytes]]:
    """`pool="prefork"` runs jobs in one child process, as scripts/run.sh does; "solo" in the worker itself.
    `purge` first empties the queues of messages an earlier test left behind."""
    queues = list(queues)
    if purge:
        purge_queues(queues)
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "project", "worker", "--include", "tests.project.worker_kind",
             "-Q", ",".join(queues), "--pool", pool, "--concurrency", "1", "--loglevel", "INFO",
             "--without-gossip", "--without-mingle", "--hostname", f"test-{os.getpid()}-{time.monotonic_ns()}@%h"],
            cwd=settings.BASE_DIR, env={**worker_environment(), **(env or {})}, stdout=log, stderr=subprocess.STDOUT,
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
