"""Which kinds of job exist. Each app registers its own kinds in its `AppConfig.ready()`:

    job_kind_register(JobKind(name=Job.Kind.DETECT, queue="detect", handler=detect_job_handle))

The framework imports no app; apps import the framework. A kind nobody registered is refused when a job
is created (`JobKindUnknown`), so nothing is ever queued where no worker would run it.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from django.core.exceptions import ImproperlyConfigured

if TYPE_CHECKING:
    from detection.models import Job
    from project.jobs.runner import JobProgress

JobHandler = Callable[["Job", "JobProgress"], "dict[str, Any] | None"]


class JobRefused(Exception):
    """A job that may not be created; the message says why, for an API answer or a page message."""


class JobKindUnknown(JobRefused):
    pass


@dataclass(frozen=True)
class JobKind:
    name: str
    queue: str
    handler: JobHandler
    # At most one queued or running job of this kind per recording, whoever asks (API, page, admin, CLI).
    one_active_per_recording: bool = False


# Filled once per process by the apps' ready(); tests may add a kind of their own.
JOB_KINDS: dict[str, JobKind] = {}


def job_kind_register(kind: JobKind) -> None:
    existing = JOB_KINDS.get(kind.name)
    if existing is not None and existing != kind:
        raise ImproperlyConfigured(f"job kind {kind.name!r} is registered twice: {existing} and {kind}")
    JOB_KINDS[kind.name] = kind


def job_kind_for(name: str) -> JobKind:
    try:
        return JOB_KINDS[name]
    except KeyError:
        raise JobKindUnknown(f"no app runs jobs of kind {name!r}; registered kinds: {sorted(JOB_KINDS)}") from None
