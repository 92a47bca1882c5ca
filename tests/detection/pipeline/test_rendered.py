"""The bundled model and the whole pipeline on rendered demo footage, scored against its truth."""
from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from detection.evaluation import evaluate
from detection.pipeline.event_log import format_timestamp, read_event_log
from detection.pipeline.factory import build_pipeline, event_log_for, open_source
from detection.pipeline.run_settings import BUNDLED_MODEL, DetectSettings
from detection.pipeline.profile import load_profile
from detection.render.session import render_session
from detection.render.timeline import QUICK_PACING

pytestmark = [pytest.mark.pure, pytest.mark.slow]
STARTED = datetime(2026, 4, 2, 19, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    rendered = render_session(out_dir=tmp_path_factory.mktemp("render"), seconds=75, fps=30, size=(1280, 720), seed=31,
                              started_at=STARTED, name="clip", pacing=QUICK_PACING)
    return rendered.video


def test_rendered_sessions_are_detected(clip: Path) -> None:
    profile = load_profile("demo")
    settings = DetectSettings(model_path=str(BUNDLED_MODEL))
    pipeline = build_pipeline(profile, settings)
    source, _ = open_source(clip, pipeline, settings, started_at=STARTED)
    result = pipeline.run(source)
    assert result.error == ""
    found = event_log_for(result, metadata={"started_at": format_timestamp(STARTED)}, started_at=STARTED)
    scores = evaluate(read_event_log(clip.with_suffix(".truth.json")), found)
    by_type = {score.type: score for score in scores.types}
    for kind in ("raid_start", "raid_end", "kill"):
        score = by_type[kind]
        assert score.truth > 0
        assert (score.recall or 0) >= 0.9 and (score.precision or 0) >= 0.9, scores.table()
        assert (score.timing_p95 or 0) <= 1.0, scores.table()
    for kind in ("raid_start", "raid_end", "kill"):
        for name, field in by_type[kind].fields.items():
            assert field.accuracy is None or field.accuracy >= 0.8, (kind, name, scores.table())


def test_the_change_gate_keeps_recall_on_rendered_footage(clip: Path) -> None:
    profile = load_profile("demo")
    runs = {}
    for gate in (True, False):
        settings = DetectSettings(model_path=str(BUNDLED_MODEL), gate=gate)
        pipeline = build_pipeline(profile, settings)
        source, _ = open_source(clip, pipeline, settings, started_at=STARTED)
        result = pipeline.run(source)
        found = event_log_for(result, metadata={"started_at": format_timestamp(STARTED)}, started_at=STARTED)
        runs[gate] = (evaluate(read_event_log(clip.with_suffix(".truth.json")), found), result.timings)
    (gated, gated_timings), (ungated, ungated_timings) = runs[True], runs[False]
    assert gated.overall.recall is not None and ungated.overall.recall is not None
    assert gated.overall.recall >= ungated.overall.recall, (gated.table(), ungated.table())
    assert gated_timings.inferences < 0.7 * ungated_timings.inferences
