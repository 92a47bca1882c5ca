"""The held-out render every version's events are measured on: the event-level half of the Models page's comparison.

A session of the demo game rendered once per installation in a held-out style family (fonts, palettes and layouts
no training set is drawn in), with its ground truth, kept under MEDIA_ROOT/heldout/. A version runs over it the
pipeline a detect job runs (its own detector, the profile's thresholds, `DETECTION_FPS`) and the event evaluator
scores what it found against the truth: recall, precision, timing and fields per event type, kept in
`metrics["heldout_events"]` so each version is measured once. VODSCOPE_HELDOUT_RENDER_SECONDS = 0 turns it off.
"""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.conf import settings

from detection.evaluation import evaluate
from detection.models import ModelVersion
from detection.pipeline.event_log import EventLog, read_event_log
from detection.pipeline.factory import build_pipeline, event_log_for, open_source
from detection.pipeline.profile import GameProfile
from detection.render.families import HELD_OUT_FAMILIES
from detection.render.session import render_session
from detection.render.timeline import QUICK_PACING
from detection.services.model_versions import detect_settings_for, model_ref

from .heldout import heldout_folder

FAMILY = HELD_OUT_FAMILIES[0].name
SEED = 7707  # no training render uses it
SIZE, FPS = (960, 540), 30
DETECTION_FPS = 10.0
STARTED_AT = datetime(2026, 5, 1, 20, 0, tzinfo=UTC)
NAME = "heldout"


def heldout_render_seconds() -> int:
    return int(settings.VODSCOPE_HELDOUT_RENDER_SECONDS)


def heldout_render_key() -> str:
    return f"{FAMILY}-s{SEED}-{heldout_render_seconds()}s-{SIZE[0]}x{SIZE[1]}-{FPS}fps-quick"


def heldout_render() -> tuple[Path, Path]:
    """(video, truth) of the held-out session, rendered the first time it is asked for."""
    folder = heldout_folder(
        f"render-{heldout_render_key()}", done=f"{NAME}.truth.json",
        make=lambda scratch: render_session(out_dir=scratch, seconds=heldout_render_seconds(), fps=FPS, size=SIZE,
                                            seed=SEED, name=NAME, started_at=STARTED_AT, pacing=QUICK_PACING,
                                            style_family=FAMILY))
    return folder / f"{NAME}.mkv", folder / f"{NAME}.truth.json"


def _detected(video: Path, *, version: ModelVersion, profile: GameProfile) -> EventLog:
    detect = detect_settings_for(params={"detection_fps": DETECTION_FPS}, model=model_ref(version))
    pipeline = build_pipeline(profile, detect)
    source, _ = open_source(video, pipeline, detect, started_at=STARTED_AT)
    try:
        result = pipeline.run(source)
    finally:
        source.close()
    return event_log_for(result, metadata={}, started_at=STARTED_AT)


def heldout_events_evaluate(*, version: ModelVersion, profile: GameProfile) -> dict[str, Any] | None:
    """Measure `version`'s events on the held-out render and keep the figures on it; None when turned off."""
    if heldout_render_seconds() <= 0:
        return None
    existing = (version.metrics or {}).get("heldout_events")
    if isinstance(existing, dict) and existing.get("render") == heldout_render_key():
        return existing
    video, truth = heldout_render()
    scores = evaluate(read_event_log(truth), _detected(video, version=version, profile=profile)).to_json()
    figures = {"render": heldout_render_key(), "family": FAMILY, "seconds": heldout_render_seconds(),
               "detection_fps": DETECTION_FPS, **scores}
    version.refresh_from_db(fields=["metrics"])
    version.metrics = {**(version.metrics or {}), "heldout_events": figures}
    version.save(update_fields=["metrics"])
    return figures
