"""API input for reviewing events: shapes and types only. Whether a type, its data and a time fit the
game profile and the recording is the review services' rule (EventInvalid), as on the page."""
from __future__ import annotations

from typing import Any

from rest_framework import serializers

from detection.models import DetectedEvent

Status = DetectedEvent.ReviewStatus
TYPE_HELP = "An event type the game profile declares (its `events:`), e.g. kill"
DATA_HELP = "The type's fields as the game profile declares them (replaces the event's data)"


class EventCreateSerializer(serializers.Serializer[dict[str, Any]]):
    recording = serializers.IntegerField()
    event_type = serializers.CharField(max_length=32, help_text=TYPE_HELP)
    # The API's key is `data`; DRF's metaclass takes declared fields off the class, so `.data` stays the output.
    data = serializers.DictField(required=False, default=dict, help_text=DATA_HELP)  # type: ignore[assignment]  # see above
    video_offset_seconds = serializers.FloatField(help_text="Seconds from the start of the recording")


class EventUpdateSerializer(serializers.Serializer[dict[str, Any]]):
    """Either a review decision (`review_status`) or an edit (any of type, data, time), as one key press is."""

    review_status = serializers.ChoiceField(
        choices=[Status.APPROVED, Status.DELETED], required=False,
        help_text="approved (key a) or deleted (key d, soft); an edit sets `edited`",
    )  # fmt: skip
    event_type = serializers.CharField(max_length=32, required=False, help_text=TYPE_HELP)
    data = serializers.DictField(required=False, help_text=DATA_HELP)  # type: ignore[assignment]  # as above
    video_offset_seconds = serializers.FloatField(required=False, help_text="Seconds from the start of the recording")

    EDIT_FIELDS = ("event_type", "data", "video_offset_seconds")

    def validate(self, attrs: dict[str, Any]) -> dict[str, Any]:
        edits = [name for name in self.EDIT_FIELDS if name in attrs]
        if "review_status" in attrs and edits:
            raise serializers.ValidationError(f"send review_status or an edit ({', '.join(edits)}), not both")
        if "review_status" not in attrs and not edits:
            raise serializers.ValidationError(f"nothing to change: send review_status or any of {list(self.EDIT_FIELDS)}")
        return attrs


class UndoSerializer(serializers.Serializer[dict[str, Any]]):
    recording = serializers.IntegerField(help_text="Undo your latest change on this recording (key u)")


class DetailSerializer(serializers.Serializer[dict[str, Any]]):
    detail = serializers.CharField()
