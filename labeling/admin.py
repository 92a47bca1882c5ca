from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from detection.models import Job, Recording
from labeling import admin_inputs  # noqa: F401  # InputLog's admin (h-input), registered on import
from labeling import admin_backends  # noqa: F401  # VLM backend health and breakers (h-lane), registered on import
from labeling import admin_summaries  # noqa: F401  # summaries, read-only (h-text), registered on import
from labeling.services.vlm_job import label_options_from_params
from labeling.training.job import train_job_start
from labeling.training.params import TrainError
from labeling.vlm_models import VlmCacheEntry, WindowLabel
from project.jobs.registry import JobRefused
from project.jobs.services import job_create

# ---- VLM labelling (h-vlm) ----


@admin.action(description="Label selected recordings with the VLM (configured backends)")
def vlm_label_selected_recordings(modeladmin: admin.ModelAdmin, request: HttpRequest,
                                  queryset: QuerySet[Recording]) -> None:
    try:
        options = label_options_from_params({})
    except ValueError as exc:
        modeladmin.message_user(request, str(exc), messages.ERROR)
        return
    if not options.backends:
        modeladmin.message_user(request, "no VLM backend configured (VODSCOPE_VLM_BACKENDS)", messages.ERROR)
        return
    started = []
    for recording in queryset:
        try:
            started.append(job_create(kind=Job.Kind.VLM, recording=recording, created_by=request.user).pk)
        except JobRefused as exc:
            modeladmin.message_user(request, f"{recording}: {exc}", messages.ERROR)
    if started:
        modeladmin.message_user(request, f"Queued vlm jobs {started}", messages.SUCCESS)


# ---- Training (h-train): the selected recordings' reviewed frames, from the active model's weights ----

TRAIN_BASE_IMAGES = 200  # rendered frames beside the reviewed ones, so one recording still has a validation side


@admin.action(description="Train a new model version on the selected recordings' reviewed frames")
def train_on_selected_recordings(modeladmin: admin.ModelAdmin, request: HttpRequest,
                                 queryset: QuerySet[Recording]) -> None:
    params = {"recordings": sorted(queryset.values_list("pk", flat=True)), "base_images": TRAIN_BASE_IMAGES}
    try:
        job = train_job_start(params=params, user=request.user)
    except (TrainError, JobRefused) as exc:
        modeladmin.message_user(request, f"Training not started: {exc}", messages.ERROR)
        return
    modeladmin.message_user(request, f"Queued train job {job.pk}; follow it on the Models page", messages.SUCCESS)


@admin.register(WindowLabel)
class WindowLabelAdmin(admin.ModelAdmin):
    list_display = ["video_path", "start", "end", "status", "source", "backend", "cached", "flagged", "prompt_version",
                    "tokens_in", "tokens_out", "latency_ms", "updated_at"]
    list_filter = ["status", "source", "cached", "flagged", "prompt_version", "backend"]
    search_fields = ["video_path", "raw_answer", "error", "recording__title"]
    raw_id_fields = ["recording", "job"]
    readonly_fields = ["updated_at"]


@admin.register(VlmCacheEntry)
class VlmCacheEntryAdmin(admin.ModelAdmin):
    list_display = ["key", "backend", "created_at"]
    search_fields = ["key", "backend"]
    readonly_fields = ["created_at"]
