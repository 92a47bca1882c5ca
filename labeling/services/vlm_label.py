"""Label a recording (or a bare video) with the VLM analyst: windows → backends → WindowLabel rows and JSONL.

The analyst runs on an event loop of its own (`async_to_sync`); every database call it makes comes
back to this thread (`sync_to_async(thread_sensitive=True)`), so rows are written where the caller's
transaction and connection live. Decoding and preparing windows run in a worker thread beside it.
"""
from __future__ import annotations

import json
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TextIO

from asgiref.sync import async_to_sync, sync_to_async
from django.conf import settings
from django.utils import timezone

from detection.models import DetectedEvent, Job, Recording
from detection.pipeline.labels import label_schema_load, prompt_load
from detection.pipeline.profile import GameProfile, load_profile
from detection.pipeline.text import RapidTextReader
from detection.pipeline.windows import Span, WindowSpec, state_spans, window_plan
from labeling.analyst import Analyst, Limits, PreparedWindow, WindowResult, prompt_version_for
from labeling.backend_status import BreakerStatusRecorder
from labeling.backends.base import BackendConfig, backend_create
from labeling.inputlog_services import window_inputs_for
from labeling.vlm_models import VlmCacheEntry, WindowLabel
from labeling.windows import video_duration, windows_prepared

RECENT_KILL_SECONDS = 30.0


@dataclass(frozen=True)
class LabelOptions:
    backends: tuple[BackendConfig, ...]
    spec: WindowSpec = WindowSpec()
    limits: Limits = Limits()
    states: tuple[str, ...] = ("raid_active",)
    prompt_version: str = ""        # "" = the profile's default
    profile: str = "demo"
    ocr: bool = True


@dataclass
class LabelSummary:
    windows: int = 0
    skipped: int = 0
    labelled: int = 0
    failed: int = 0
    cached: int = 0
    ocr_fallback: int = 0
    flagged: int = 0
    requests: int = 0
    failed_requests: int = 0
    tokens_in: int = 0
    tokens_out: int = 0
    max_in_flight: int = 0
    seconds: float = 0.0
    prompt_version: str = ""
    backends: list[str] = field(default_factory=list)


def backend_config(type_key: str, *, model: str = "", base_url: str = "") -> BackendConfig:
    """A backend as settings and the environment describe it; `model`/`base_url` override them."""
    return BackendConfig(
        type_key=type_key,
        model=model or settings.VODSCOPE_VLM_MODELS.get(type_key, ""),
        base_url=base_url or settings.VODSCOPE_VLM_URLS.get(type_key, ""),
        api_key=settings.VODSCOPE_VLM_KEYS.get(type_key, ""),
        timeout=settings.VODSCOPE_VLM_TIMEOUT_SECONDS,
    )


def configured_backends() -> tuple[BackendConfig, ...]:
    return tuple(backend_config(key) for key in settings.VODSCOPE_VLM_BACKENDS)


class DbCache:
    async def get(self, key: str) -> dict[str, Any] | None:
        return await sync_to_async(self._get, thread_sensitive=True)(key)

    async def put(self, key: str, entry: dict[str, Any]) -> None:
        await sync_to_async(self._put, thread_sensitive=True)(key, entry)

    @staticmethod
    def _get(key: str) -> dict[str, Any] | None:
        row = VlmCacheEntry.objects.filter(key=key).first()
        return None if row is None else {"label": row.label, "backend": row.backend, "raw": row.raw_answer}

    @staticmethod
    def _put(key: str, entry: dict[str, Any]) -> None:
        # One statement: two runs labelling the same window both store the same answer, the second is a no-op.
        VlmCacheEntry.objects.bulk_create(
            [VlmCacheEntry(key=key, label=entry["label"], backend=entry["backend"], raw_answer=entry["raw"])],
            ignore_conflicts=True,
        )


@dataclass(frozen=True)
class _Detected:
    """What detection already knows about the video, in video seconds."""

    spans: list[Span] | None
    transitions: list[tuple[float, str]]
    kills: list[float]
    raid_starts: list[float]

    def context(self, start: float, end: float) -> dict[str, Any]:
        if not self.transitions:
            return {}
        state = next((s for t, s in reversed(self.transitions) if t <= start), "")
        return {
            "state": state,
            "raid": sum(1 for t in self.raid_starts if t <= end),
            "recent_kills": sum(1 for t in self.kills if start - RECENT_KILL_SECONDS <= t <= end),
        }


def _detected(recording: Recording | None, profile: GameProfile, *, states: tuple[str, ...],
              duration: float) -> _Detected:
    if recording is None:
        return _Detected(spans=None, transitions=[], kills=[], raid_starts=[])
    events = list(DetectedEvent.objects.filter(recording=recording).order_by("video_offset_seconds", "id")
                  .values_list("event_type", "video_offset_seconds", "data"))
    transitions = [(t, str(d.get("to_state", ""))) for kind, t, d in events if kind == profile.transition_event]
    kills = [t for kind, t, _ in events if kind in profile.overlays.values()]
    raid_starts = [t for kind, t, _ in events if kind == profile.raid_start_event]
    # A bare video (no detection run yet) gets every window; after detection, only the states asked for.
    spans = state_spans(transitions, states=states, duration=duration, initial=profile.initial_state) \
        if transitions else None
    return _Detected(spans=spans, transitions=transitions, kills=kills, raid_starts=raid_starts)


def vlm_label_run(
    *,
    video: Path,
    options: LabelOptions,
    recording: Recording | None = None,
    job: Job | None = None,
    output: TextIO | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> LabelSummary:
    """Label every planned window once; each result is stored (and written to `output`) as it comes."""
    started = time.monotonic()
    profile = load_profile(options.profile)
    unknown = sorted(set(options.states) - set(profile.states))
    if unknown or not options.states:
        raise ValueError(f"unknown game states {unknown or '(none given)'}; the profile's: {sorted(profile.states)}")
    schema = label_schema_load(options.profile)
    prompt = prompt_load(options.profile, options.prompt_version or schema.default_prompt)
    duration = video_duration(video)
    detected = _detected(recording, profile, states=options.states, duration=duration)
    inputs_for = window_inputs_for(recording)  # None without an input log: the prompt is as before
    version = prompt_version_for(prompt.version, inputs=inputs_for is not None)
    plan = window_plan(duration=duration, spec=options.spec, spans=detected.spans)
    summary = LabelSummary(windows=len(plan.windows), skipped=plan.skipped, prompt_version=version)
    backends = [backend_create(config) for config in options.backends]
    summary.backends = [b.name for b in backends]
    analyst = Analyst(backends=backends, schema=schema, prompt=prompt, limits=options.limits, cache=DbCache(),
                      params={"frames": options.spec.frames, "seconds": options.spec.seconds})
    breakers = BreakerStatusRecorder(analyst.breakers, job=job)  # the admin's backend status
    reader = RapidTextReader(max_side=960, min_score=profile.ocr.min_score) if options.ocr else None
    windows: Iterator[PreparedWindow] = windows_prepared(video, plan, spec=options.spec, profile=profile,
                                                         schema=schema, reader=reader, context_for=detected.context,
                                                         inputs_for=inputs_for)
    spec_key = f"{options.spec.frames}x{options.spec.seconds:g}/{options.spec.stride:g}"

    def store(result: WindowResult) -> None:
        window_label_store(result, video=video, recording=recording, job=job, prompt_version=version, spec_key=spec_key)
        _count(summary, result)
        breakers.record()  # writes only when a breaker's state or failure count changed
        if output is not None:
            output.write(json.dumps(window_line(result), sort_keys=True) + "\n")
            output.flush()
        if progress is not None:
            progress(summary.labelled + summary.failed, summary.windows)

    async def on_result(result: WindowResult) -> None:
        await sync_to_async(store, thread_sensitive=True)(result)

    async def run() -> None:
        try:
            await analyst.run(windows, on_result)
        finally:
            for backend in backends:
                await backend.close()

    try:
        async_to_sync(run)()
    finally:
        breakers.record()
    stats = analyst.stats
    summary.requests, summary.failed_requests = stats.requests, stats.failed_requests
    summary.tokens_in, summary.tokens_out, summary.max_in_flight = stats.tokens_in, stats.tokens_out, stats.max_in_flight
    summary.seconds = round(time.monotonic() - started, 2)
    return summary


def window_line(result: WindowResult) -> dict[str, Any]:
    """One JSONL line: the window's times, what was sent, the label and OCR's HUD values."""
    window = result.window
    line: dict[str, Any] = {
        "start": window.start, "end": window.end, "frames": list(window.frame_times), "status": result.status,
        "label": result.label, "ocr": window.ocr, "cached": result.cached, "source": result.source,
        "backend": result.backend, "flagged": result.flagged,
    }
    if result.status == WindowLabel.Status.FAILED:
        line["error"] = result.error
        line["raw"] = result.raw
    return line


def window_label_store(result: WindowResult, *, video: Path, recording: Recording | None, job: Job | None,
                       prompt_version: str, spec_key: str) -> None:
    """Insert or update the window's row in one statement (an upsert on its unique key)."""
    window = result.window
    row = WindowLabel(
        video_path=str(video), prompt_version=prompt_version, spec=spec_key, window_index=window.index,
        recording=recording, job=job, start=window.start, end=window.end, frames=list(window.frame_times),
        status=result.status, label=result.label, ocr=window.ocr, source=result.source, backend=result.backend,
        cached=result.cached, flagged=result.flagged, raw_answer=result.raw, error=result.error,
        tokens_in=result.tokens_in, tokens_out=result.tokens_out, requests=result.requests,
        latency_ms=round(result.latency_ms, 1), updated_at=timezone.now(),
    )
    WindowLabel.objects.bulk_create([row], update_conflicts=True, unique_fields=_WINDOW_KEY,
                                    update_fields=[f for f in _WINDOW_FIELDS if f not in _WINDOW_KEY])


_WINDOW_KEY = ["video_path", "prompt_version", "spec", "window_index"]
_WINDOW_FIELDS = [f.name for f in WindowLabel._meta.concrete_fields if not f.primary_key]


def _count(summary: LabelSummary, result: WindowResult) -> None:
    if result.status == WindowLabel.Status.LABELLED:
        summary.labelled += 1
    else:
        summary.failed += 1
    summary.cached += result.cached
    summary.ocr_fallback += result.source == WindowLabel.Source.OCR
    summary.flagged += result.flagged
