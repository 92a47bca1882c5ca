"""Model registry actions: activate a version with one call, roll back to the one before with another.

Each activation is a ModelActivation row naming the version it replaced, so a rollback knows where to
go back to and the history says who switched what when. Runs take the active version when they start
(detection.services.model_versions.model_version_choose); the version a run used is on its events
(`DetectedEvent.model_version`) and in its job's result metadata (`result["metadata"]["model"]`).
"""
from __future__ import annotations

from typing import Any

from django.db import transaction

from detection.models import ModelVersion
from detection.services.model_versions import ModelVersionError, model_version_activate
from labeling.models import ModelActivation


@transaction.atomic
def model_version_activate_recorded(*, version: ModelVersion, user: Any = None) -> ModelVersion:
    """Make `version` its profile's active model and record the switch; already active: nothing changes."""
    locked = list(ModelVersion.objects.select_for_update().filter(profile=version.profile))
    previous = next((v for v in locked if v.active), None)
    if previous is not None and previous.pk == version.pk:
        return version
    model_version_activate(version=version)
    ModelActivation.objects.create(version=version, previous=previous, profile=version.profile, user=user)
    return version


@transaction.atomic
def model_version_rollback(*, profile: str, user: Any = None) -> ModelVersion:
    """Back to the version the latest activation of `profile` replaced; ModelVersionError when there is none."""
    list(ModelVersion.objects.select_for_update().filter(profile=profile))
    latest = ModelActivation.objects.filter(profile=profile, rolled_back=False).select_related("previous").first()
    if latest is None or latest.previous is None:
        raise ModelVersionError(f"profile {profile!r}: no earlier active model version to roll back to")
    model_version_activate(version=latest.previous)
    ModelActivation.objects.filter(pk=latest.pk).update(rolled_back=True)
    return latest.previous
