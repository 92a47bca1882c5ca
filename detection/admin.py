from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from detection.models import DetectedEvent, Job, ModelVersion, RejectedObservation, Recording, Upload
from detection.services.detect import DetectError, detect_job_start
from importer.admin import import_selected_recordings
from labeling.datasets.admin import (
    activate_model_version,
    export_selected_recordings_cvat,
    export_selected_recordings_yolo,
    rollback_model_version,
)
from labeling.admin import train_on_selected_recordings, vlm_label_selected_recordings
from project.jobs.registry import JobRefused


@admin.action(description="Detect events in selected recordings")
def detect_selected_recordings(modeladmin: admin.ModelAdmin, request: HttpRequest, queryset: QuerySet[Recording]) -> None:
    started = []
    for recording in queryset:
        try:
            started.append(detect_job_start(recording=recording, user=request.user).pk)
        except (DetectError, JobRefused) as exc:
            modeladmin.message_user(request, f"{recording}: {exc}", messages.ERROR)
    if started:
        modeladmin.message_user(request, f"Queued detect jobs {started}", messages.SUCCESS)


@admin.register(Recording)
class RecordingAdmin(admin.ModelAdmin):
    list_display = ["title", "owner", "status", "session_type", "started_at", "started_at_source", "duration_seconds",
                    "avg_fps", "is_vfr", "width", "height", "codec", "size_bytes", "created_at"]
    list_filter = ["status", "session_type", "started_at_source", "is_vfr", "codec", "container"]
    search_fields = ["title", "source_path", "uploaded_file", "fingerprint", "notes", "owner__username"]
    date_hierarchy = "started_at"
    raw_id_fields = ["owner"]
    filter_horizontal = ["reviewers"]
    actions = [detect_selected_recordings, import_selected_recordings, vlm_label_selected_recordings,
               export_selected_recordings_yolo, export_selected_recordings_cvat, train_on_selected_recordings]
    readonly_fields = ["fingerprint", "size_bytes", "created_at", "updated_at"]


@admin.register(Upload)
class UploadAdmin(admin.ModelAdmin):
    list_display = ["filename", "owner", "received_bytes", "size_bytes", "created_at", "updated_at"]
    search_fields = ["filename", "owner__username"]
    readonly_fields = ["temp_path"]


@admin.register(Job)
class JobAdmin(admin.ModelAdmin):
    list_display = ["id", "kind", "status", "recording", "progress_done", "progress_total", "message", "attempts",
                    "created_by", "created_at", "started_at", "finished_at"]
    list_filter = ["kind", "status", "cancel_requested"]
    search_fields = ["message", "error", "celery_task_id", "recording__title"]
    raw_id_fields = ["recording", "created_by"]
    date_hierarchy = "created_at"


@admin.register(ModelVersion)
class ModelVersionAdmin(admin.ModelAdmin):
    """Files come in only through `manage.py register_model`, from the models folder: here no path can be typed."""

    list_display = ["name", "profile", "active", "image_size", "onnx_file", "created_at"]
    list_filter = ["active", "profile"]
    search_fields = ["name", "onnx_file", "sha256", "notes"]
    readonly_fields = ["onnx_file", "sha256", "profile", "classes", "image_size", "active", "created_at"]
    actions = [activate_model_version, rollback_model_version]

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False


class SupersededFilter(admin.SimpleListFilter):
    title = "superseded"
    parameter_name = "superseded"

    def lookups(self, request: HttpRequest, model_admin: admin.ModelAdmin) -> list[tuple[str, str]]:
        return [("no", "No (current)"), ("yes", "Yes (replaced or linked)")]

    def queryset(self, request: HttpRequest, queryset: QuerySet[DetectedEvent]) -> QuerySet[DetectedEvent]:
        if self.value() in ("no", "yes"):
            return queryset.filter(superseded_at__isnull=self.value() == "no")
        return queryset


@admin.register(DetectedEvent)
class DetectedEventAdmin(admin.ModelAdmin):
    list_display = ["event_id", "event_type", "recording", "video_offset_seconds", "timestamp", "confidence",
                    "review_status", "source", "partial", "superseded_at", "reviewed_by", "reviewed_at"]
    list_filter = [SupersededFilter, "event_type", "review_status", "source", "partial", "manually_reviewed"]
    search_fields = ["event_id", "event_type", "recording__title"]
    raw_id_fields = ["recording", "job", "model_version", "reviewed_by", "superseded_by", "duplicate_of"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[DetectedEvent]:
        # Staff see superseded rows too (the default manager hides them everywhere else).
        return DetectedEvent.all_objects.all()
    list_select_related = ["recording", "reviewed_by"]


@admin.register(RejectedObservation)
class RejectedObservationAdmin(admin.ModelAdmin):
    list_display = ["observation_key", "recording", "from_state", "observed_screen", "video_offset_seconds",
                    "confidence", "reason"]
    list_filter = ["from_state", "observed_screen"]
    search_fields = ["observation_key", "reason", "recording__title"]
    raw_id_fields = ["recording", "job"]
