"""Admin for training data and the registry: annotated frames (boxes inline, audit), model activations, and the
actions the detection admin shows (export recordings as YOLO/CVAT jobs, activate or roll back a model version)."""
from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from detection.models import ModelVersion, Recording
from detection.services.model_versions import ModelVersionError
from labeling.models import AnnotationChange, BoxAnnotation, FrameAnnotation, ModelActivation
from labeling.registry import model_version_activate_recorded, model_version_rollback
from project.jobs.registry import JobRefused

from .items import DatasetError
from .jobs import export_job_start


def _export(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Recording], format: str) -> None:
    try:
        job = export_job_start(recording_ids=list(queryset.values_list("pk", flat=True)), format=format,
                               user=request.user)
    except (DatasetError, JobRefused) as exc:
        modeladmin.message_user(request, str(exc), messages.ERROR)
        return
    modeladmin.message_user(request, f"Queued export job {job.pk} ({format}); the dataset goes to MEDIA_ROOT/exports/",
                            messages.SUCCESS)


@admin.action(description="Export labelled frames of selected recordings as YOLO")
def export_selected_recordings_yolo(modeladmin: admin.ModelAdmin, request: HttpRequest,
                                    queryset: QuerySet[Recording]) -> None:
    _export(modeladmin, request, queryset, "yolo")


@admin.action(description="Export labelled frames of selected recordings as CVAT 1.1")
def export_selected_recordings_cvat(modeladmin: admin.ModelAdmin, request: HttpRequest,
                                    queryset: QuerySet[Recording]) -> None:
    _export(modeladmin, request, queryset, "cvat")


@admin.action(description="Make the selected model version the active one of its profile")
def activate_model_version(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
    if queryset.count() != 1:
        modeladmin.message_user(request, "choose exactly one model version to make active", messages.ERROR)
        return
    version = model_version_activate_recorded(version=queryset.get(), user=request.user)
    modeladmin.message_user(request, f"{version.name} is now the active model of {version.profile}", messages.SUCCESS)


@admin.action(description="Roll back the selected versions' profiles to the model active before")
def rollback_model_version(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
    for profile in sorted(set(queryset.values_list("profile", flat=True))):
        try:
            version = model_version_rollback(profile=profile, user=request.user)
        except ModelVersionError as exc:
            modeladmin.message_user(request, str(exc), messages.ERROR)
            continue
        modeladmin.message_user(request, f"{profile}: back to {version.name}", messages.SUCCESS)


class BoxInline(admin.TabularInline):
    model = BoxAnnotation
    extra = 0
    raw_id_fields = ["event"]


class ChangeInline(admin.TabularInline):
    model = AnnotationChange
    extra = 0
    readonly_fields = ["user", "action", "before", "after", "created_at"]
    can_delete = False


@admin.register(FrameAnnotation)
class FrameAnnotationAdmin(admin.ModelAdmin):
    list_display = ["recording", "frame_number", "status", "source", "reason", "confidence", "rejected", "updated_at"]
    list_filter = ["status", "source", "rejected"]
    search_fields = ["reason", "disagreement", "recording__title"]
    raw_id_fields = ["recording"]
    readonly_fields = ["image", "image_width", "image_height", "phash", "created_at", "updated_at"]
    inlines = [BoxInline, ChangeInline]


@admin.register(ModelActivation)
class ModelActivationAdmin(admin.ModelAdmin):
    list_display = ["profile", "version", "previous", "user", "rolled_back", "created_at"]
    list_filter = ["profile", "rolled_back"]
    readonly_fields = ["profile", "version", "previous", "user", "rolled_back", "created_at"]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False
