"""Orphans are found continuously: every worker, while it lives, sweeps for running jobs whose heartbeat
went stale (their worker died whole, or its machine did) and sends them back to their queue.

A job whose worker *process* died while its worker lives is re-queued at once instead (dispatch.JobRequest);
the sweep is for what no surviving process saw die. Period: VODSCOPE_JOB_HEARTBEAT_SECONDS; stale after
VODSCOPE_JOB_STALE_SECONDS without a beat.

A kind that must never be re-queued (a live session: the moments it missed are gone) registers a stale
rule (`stale_rule_register`, from its app's ready()): each sweep runs the rules first, and what they end
is no longer running when the re-queue looks.
"""
from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from datetime import timedelta

from celery.signals import worker_ready, worker_shutdown
from django.conf import settings
from django.db import connection

from project.jobs.dispatch import job_requeue_orphans

logger = logging.getLogger(__name__)

# Each ends (or otherwise settles) its own kind's stale running jobs; returns their ids.
StaleRule = Callable[..., list[int]]
STALE_RULES: list[StaleRule] = []


def stale_rule_register(rule: StaleRule) -> None:
    """`rule(stale_after=timedelta)`; registering the same rule twice keeps one."""
    if rule not in STALE_RULES:
        STALE_RULES.append(rule)


def jobs_sweep(*, stale_after: timedelta) -> list[int]:
    """One sweep: the kinds' own stale rules, then every other stale job back to its queue."""
    for rule in STALE_RULES:
        rule(stale_after=stale_after)
    return job_requeue_orphans(stale_after=stale_after)


class OrphanSweep(threading.Thread):
    def __init__(self, *, period: float, stale_after: timedelta) -> None:
        super().__init__(daemon=True, name="job-orphan-sweep")
        self.period = period
        self.stale_after = stale_after
        self.stopped = threading.Event()

    def run(self) -> None:
        while not self.stopped.is_set():
            try:
                jobs_sweep(stale_after=self.stale_after)
            except Exception:  # a database or broker hiccup must not end the sweep for the worker's lifetime
                logger.exception("orphan sweep failed; trying again in %s s", self.period)
            finally:
                # Closed between sweeps: a prefork child forked meanwhile must not inherit an open connection.
                connection.close()
            self.stopped.wait(self.period)


_sweeps: list[OrphanSweep] = []


def _start(**_: object) -> None:
    sweep = OrphanSweep(
        period=settings.VODSCOPE_JOB_HEARTBEAT_SECONDS,
        stale_after=timedelta(seconds=settings.VODSCOPE_JOB_STALE_SECONDS),
    )
    sweep.start()
    _sweeps.append(sweep)


def _stop(**_: object) -> None:
    while _sweeps:
        sweep = _sweeps.pop()
        sweep.stopped.set()
        sweep.join(timeout=5)


def connect_worker_signals() -> None:
    worker_ready.connect(_start, weak=False, dispatch_uid="project.jobs.sweep.start")
    worker_shutdown.connect(_stop, weak=False, dispatch_uid="project.jobs.sweep.stop")
