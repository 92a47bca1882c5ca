"""The staff Models page: registered versions with their metrics, any two side by side, activate / roll back,
and a form that starts a `train` job (its card, chart included, polls like every job card). Others get 404."""
from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any

from django import forms
from django.conf import settings
from django.contrib import messages
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, HttpResponseBase
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_GET, require_POST

from detection.models import ModelVersion
from detection.services.model_versions import ModelVersionError
from labeling.registry import model_version_activate_recorded, model_version_rollback
from labeling.training.job import train_job_start
from labeling.training.params import FROM_CHOICES, TrainError, TrainParams
from labeling.training.register import plot_path
from labeling.training.selectors import (
    model_versions_listed,
    recordings_with_labelled_frames,
    train_jobs_recent,
    versions_compare,
)
from project.jobs.registry import JobRefused

DEFAULTS = TrainParams()


def staff_only(view: Callable[..., HttpResponseBase]) -> Callable[..., HttpResponseBase]:
    """Staff see the page; anybody else is told it does not exist."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponseBase:
        if not request.user.is_staff:
            raise Http404
        return view(request, *args, **kwargs)

    return wrapped


class TrainForm(forms.Form):
    epochs = forms.IntegerField(min_value=1, max_value=1000, initial=DEFAULTS.epochs)
    imgsz = forms.IntegerField(min_value=64, max_value=1280, initial=DEFAULTS.imgsz, label="Image size")
    start_from = forms.ChoiceField(choices=[(c, c) for c in FROM_CHOICES], initial=DEFAULTS.start_from, label="From")
    base_images = forms.IntegerField(min_value=0, max_value=20000, initial=200, label="Base rendered images")
    recordings = forms.TypedMultipleChoiceField(coerce=int, required=False, choices=[],
                                                widget=forms.CheckboxSelectMultiple)

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        choices = [(r.pk, f"{r.title} ({r.labelled} frames)")  # type: ignore[attr-defined]  # annotated count
                   for r in recordings_with_labelled_frames()]
        self.fields["recordings"].choices = choices  # type: ignore[attr-defined]  # a ChoiceField, typed as Field

    def params(self) -> dict[str, Any]:
        data = self.cleaned_data
        return {"epochs": data["epochs"], "imgsz": data["imgsz"], "from": data["start_from"],
                "base_images": data["base_images"], "recordings": list(data["recordings"])}


def _version_param(request: HttpRequest, key: str) -> ModelVersion | None:
    raw = request.GET.get(key, "")
    if not raw.isdigit():
        return None
    return model_versions_listed().filter(pk=int(raw)).first()


@require_GET
@staff_only
def models_page(request: HttpRequest) -> HttpResponse:
    versions = list(model_versions_listed())
    a, b = _version_param(request, "a"), _version_param(request, "b")
    if a is None and versions:
        a = versions[0]
    if b is None:
        b = next((v for v in versions if v.active and v != a), None) or next((v for v in versions if v != a), None)
    context = {
        "versions": versions,
        "a": a,
        "b": b,
        "rows": versions_compare(a, b) if a is not None and b is not None else [],
        "train_form": TrainForm(),
        "train_jobs": train_jobs_recent(),
        "profile": settings.VODSCOPE_GAME_PROFILE,
    }
    return render(request, "labeling/models.html", context)


@require_POST
@staff_only
def model_train(request: HttpRequest) -> HttpResponse:
    form = TrainForm(request.POST)
    if not form.is_valid():
        errors = "; ".join(f"{field}: {' '.join(str(m) for m in e)}" for field, e in form.errors.items())
        messages.error(request, f"Training not started: {errors}")
        return redirect("models")
    try:
        job = train_job_start(params=form.params(), user=request.user)
    except (TrainError, JobRefused) as exc:
        messages.error(request, f"Training not started: {exc}")
        return redirect("models")
    messages.success(request, f"Train job #{job.pk} queued")
    return redirect("models")


@require_POST
@staff_only
def model_activate(request: HttpRequest, pk: int) -> HttpResponse:
    version = get_object_or_404(model_versions_listed(), pk=pk)
    model_version_activate_recorded(version=version, user=request.user)
    messages.success(request, f"{version.name} is now the active model")
    return redirect("models")


@require_POST
@staff_only
def model_rollback(request: HttpRequest) -> HttpResponse:
    try:
        version = model_version_rollback(profile=settings.VODSCOPE_GAME_PROFILE, user=request.user)
    except ModelVersionError as exc:
        messages.error(request, str(exc))
        return redirect("models")
    messages.success(request, f"Rolled back: {version.name} is the active model again")
    return redirect("models")


@require_GET
@staff_only
def model_plot(request: HttpRequest, pk: int, key: str) -> FileResponse:
    version = get_object_or_404(model_versions_listed(), pk=pk)
    path = plot_path(version, key)
    if path is None:
        raise Http404
    return FileResponse(path.open("rb"), content_type="image/png")
