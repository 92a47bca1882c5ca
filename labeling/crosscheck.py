"""The detector cross-check: a VLM is shown the frames of a detected event and asked whether what the detector
claims (a kill notification, a death or MIA or survived screen, a raid start) is really on screen.

The answer goes into the event's evidence, `evidence["vlm_check"] = {agrees, answer, rationale, model,
prompt_version, checked_at}` (`agrees` true, false, or null when the model could not tell or no valid answer
came, then with `error`); review ranks an event the model disagrees with first (review/selectors.py). What is
claimed per event type is prompt data (`claims:` in the prompt file), so a second game needs no code.
Frames: `frames` images from the video at 2 per second from the event's time (a kill notification shows
2-4 s), downscaled to 640 px; the event's thumbnail when the video cannot be read. Requests go through the
same guard, cache and one repair as session reasoning; an answer never raises out of here.
"""
from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import Callable
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from asgiref.sync import async_to_sync, sync_to_async
from django.db import transaction
from django.utils import timezone

from detection.models import DetectedEvent, Recording
from detection.pipeline.source import DecodeOptions, FileVideoSource, VideoSourceError
from labeling.analyst import AnswerCache, Limits
from labeling.backends.base import BackendConfig, VlmBackend, backend_create
from labeling.backends.guard import Guard
from labeling.datasets.annotations import annotation_dispute_record
from labeling.reasoning.answers import ask_json, cache_key
from labeling.reasoning.prompts import TaskPrompt, task_prompt_load
from labeling.windows import jpeg

PROMPT_VERSION = "crosscheck_v1"
PLACEHOLDERS = {"user": frozenset({"frame_count", "at", "claim", "fields", "schema"})}
ANSWER_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "visible": {"type": "string", "enum": ["yes", "no", "unclear"]},
        "rationale": {"type": "string", "maxLength": 300},
    },
    "required": ["visible", "rationale"],
    "additionalProperties": False,
}
AGREES = {"yes": True, "no": False, "unclear": None}
FRAMES_PER_SECOND = 2.0
FRAME_WIDTH = 640


@dataclass(frozen=True)
class CrosscheckOptions:
    backend: BackendConfig
    prompt_version: str = PROMPT_VERSION
    limits: Limits = Limits()
    frames: int = 3
    profile: str = "demo"

    def __post_init__(self) -> None:
        if not 1 <= self.frames <= 8:
            raise ValueError(f"frames {self.frames}: between 1 and 8 images per event")


@dataclass
class CrosscheckResult:
    events: int = 0         # those the prompt has a claim for (its type, a raid end's outcome)
    agreed: int = 0
    disputed: int = 0
    unclear: int = 0
    failed: int = 0
    skipped: int = 0        # no image to show (video unreadable, no thumbnail); events with no claim are not counted
    cached: int = 0
    requests: int = 0
    model: str = ""
    prompt_version: str = ""


def events_crosscheck(*, recording: Recording, options: CrosscheckOptions, cache: AnswerCache,
                      progress: Callable[[int, int], None] | None = None) -> CrosscheckResult:
    """Check every current, not deleted event whose type the prompt has a claim for; ProfileError for a bad
    prompt version, ImproperlyConfigured for an unknown backend, before any request."""
    prompt = task_prompt_load(options.profile, options.prompt_version, placeholders=PLACEHOLDERS)
    claims = {str(k): str(v) for k, v in (prompt.extras.get("claims") or {}).items()}
    events = [e for e in DetectedEvent.objects.filter(recording=recording)
              .exclude(review_status=DetectedEvent.ReviewStatus.DELETED).order_by("video_offset_seconds", "id")
              if _claim_key(e) in claims]
    backend = backend_create(options.backend)
    result = CrosscheckResult(events=len(events), model=backend.name, prompt_version=prompt.version)
    guard = Guard(limits=options.limits)
    limit = asyncio.Semaphore(options.limits.concurrency)
    done = 0

    def store(event: DetectedEvent, check: dict[str, Any]) -> None:
        nonlocal done
        with transaction.atomic():
            locked = DetectedEvent.all_objects.select_for_update().get(pk=event.pk)
            locked.evidence = {**(locked.evidence or {}), "vlm_check": check}
            locked.save(update_fields=["evidence"])
            annotation_dispute_record(event=locked)
        done += 1
        if progress is not None:
            progress(done, len(events))

    async def one(event: DetectedEvent) -> None:
        async with limit:
            images = await asyncio.to_thread(_images, event, recording.video_path, options.frames)
            if not images:
                result.skipped += 1
                return
            check = await _check(event, images, claim=claims[_claim_key(event)], prompt=prompt, backend=backend,
                                 guard=guard, cache=cache, result=result)
            await sync_to_async(store, thread_sensitive=True)(event, check)

    async def run() -> None:
        try:
            await asyncio.gather(*(one(event) for event in events))
        finally:
            await backend.close()

    async_to_sync(run)()
    result.requests = guard.stats.requests
    return result


def _claim_key(event: DetectedEvent) -> str:
    outcome = (event.data or {}).get("outcome")
    return f"{event.event_type}:{outcome}" if event.event_type == "raid_end" else event.event_type


async def _check(event: DetectedEvent, images: tuple[bytes, ...], *, claim: str, prompt: TaskPrompt,
                 backend: VlmBackend, guard: Guard, cache: AnswerCache, result: CrosscheckResult) -> dict[str, Any]:
    fields = {k: v for k, v in sorted((event.data or {}).items()) if v not in (None, "")}
    text = prompt.render("user", frame_count=len(images), at=f"{event.video_offset_seconds:.1f}", claim=claim,
                         fields=json.dumps(fields, sort_keys=True) if fields else "nothing",
                         schema=json.dumps(ANSWER_SCHEMA, sort_keys=True))
    inputs = [claim, fields, [hashlib.sha256(image).hexdigest() for image in images]]
    key = cache_key(task="crosscheck", inputs=inputs, prompt=prompt, backend=backend)
    outcome = await ask_json(guard=guard, backend=backend, cache=cache, key=key, prompt=prompt, text=text,
                             schema=ANSWER_SCHEMA, schema_name="event_check", images=images)
    check: dict[str, Any] = {"model": backend.name, "prompt_version": prompt.version,
                             "checked_at": timezone.now().isoformat(timespec="seconds")}
    result.cached += outcome.cached
    if outcome.answer is None:
        result.failed += 1
        return {**check, "agrees": None, "error": outcome.error, "raw": outcome.raw[:2000]}
    agrees = AGREES[outcome.answer["visible"]]
    result.agreed += agrees is True
    result.disputed += agrees is False
    result.unclear += agrees is None
    return {**check, "agrees": agrees, "answer": outcome.answer["visible"], "rationale": outcome.answer["rationale"]}


def _images(event: DetectedEvent, video: Path, frames: int) -> tuple[bytes, ...]:
    """Frames from the event's time on, or its thumbnail when the video cannot be read; () when neither."""
    try:
        with FileVideoSource(video, detection_fps=FRAMES_PER_SECOND,
                             options=DecodeOptions(analysis_width=FRAME_WIDTH)) as source:
            source.seek(max(0.0, event.video_offset_seconds))
            taken = [frame for _ in range(frames) if (frame := source.read_frame()) is not None]
        if taken:
            return tuple(jpeg(frame.image) for frame in taken)
    except VideoSourceError:
        pass
    if event.thumbnail:
        try:
            with event.thumbnail.open("rb") as handle:
                return (handle.read(),)
        except OSError:
            return ()
    return ()


def crosscheck_after_labelling(*, recording: Recording, backend: BackendConfig, limits: Limits,
                               cache: AnswerCache) -> dict[str, Any]:
    """For the vlm job's `crosscheck` param: the check with the job's first backend, its result as a dict."""
    return asdict(events_crosscheck(recording=recording, options=CrosscheckOptions(backend=backend, limits=limits),
                                    cache=cache))
