"""render_demo's synthetic input log: parseable, and consistent with the truth of the footage it goes with."""
from __future__ import annotations

import random
from datetime import UTC, datetime
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command

from detection.pipeline.event_log import EventLog, read_event_log
from detection.render.inputs import MENU_CLICKS, input_log_csv, synthetic_inputs
from detection.render.profile import load_profile
from detection.render.timeline import QUICK_PACING, plan_session
from detection.render.truth import truth_log
from detection.render.writer import frame_times
from labeling.inputlog import InputTrack, input_log_parse, input_log_read


def planned_truth(seconds: float, seed: int) -> EventLog:
    """A session's truth without rendering its video (the truth writer needs only the frame times)."""
    timeline = plan_session(seconds, load_profile(), random.Random(seed), QUICK_PACING)
    times = frame_times(seconds, 30, vfr=False, rng=random.Random(seed))
    return truth_log(timeline, times, started_at=datetime(2026, 11, 1, 21, tzinfo=UTC),
                     metadata={"duration_seconds": seconds, "width": 640, "height": 360})


def inside(t: float, spans: list[tuple[float, float, str]], names: set[str] | tuple[str, ...]) -> str | None:
    return next((name for start, end, name in spans if name in names and start <= t < end), None)


@pytest.mark.pure
def test_the_synthetic_log_clicks_on_kills_and_menus_and_heals_after_hits():
    truth = planned_truth(70.0, seed=4)
    rows = synthetic_inputs(truth, seed=4)
    log = input_log_parse(input_log_csv(rows, screen=(640, 360), seed=4).splitlines(), format="csv", started_at=None)
    assert len(log.events) == len(rows) and log.screen == (640, 360)
    track = InputTrack.aligned(log, offset_seconds=0.0)
    assert 0.0 <= track.first and track.last <= 70.0
    kills = [e.video_offset_seconds for e in truth.events if e.type == "kill"]
    raids = [(s, e, n) for s, e, n in truth.segments if n == "gameplay_hud"]
    assert len(kills) >= 3 and raids
    lefts = track.presses(0.0, 70.0)
    for kill in kills:  # every kill was shot: left clicks in the half second before it shows, right held to aim
        assert [b for t, b in lefts if kill - 0.5 <= t < kill] == ["left", "left"], kill
        assert "right" in track.held_buttons(kill - 0.1)
    for t, button in lefts:
        if inside(t, raids, ("gameplay_hud",)):
            assert button == "right" or any(0 < k - t <= 0.5 for k in kills), f"a shot at {t} with no kill after it"
        else:  # outside raids a click lands on a menu that has something to click
            assert button == "left" and inside(t, truth.segments, tuple(MENU_CLICKS)), t
    region = load_profile().regions["character_select"]
    for start, end, name in truth.segments:
        if name == "character_select":
            (t, _), *_ = track.presses(start, end)
            x, y = track.position_at(t) or (-1.0, -1.0)
            assert region[0] <= x <= region[2] and region[1] <= y <= region[3], "the click is on the buttons"
    hud = truth.metadata["hud"]
    hits = [t for (t, hp, _), (_, before, _) in zip(hud[1:], hud) if hp < before and inside(t + 1.2, raids, ("gameplay_hud",))]
    keys = track.key_presses(0.0, 70.0)
    assert hits and all((round(t + 1.0, 3), "4") in keys for t in hits)
    assert any(key == "1" for _, key in keys) and any(key == "W" for _, key in keys)
    assert synthetic_inputs(truth, seed=4) == rows and synthetic_inputs(truth, seed=5) != rows


@pytest.mark.pure
def test_render_demo_writes_the_log_beside_its_video(tmp_path: Path):
    common = dict(out=str(tmp_path), resolution="320x180", quick=True, seed=2, start="2026-11-01T21:00:00Z",
                  stdout=StringIO(), stderr=StringIO())
    out = StringIO()
    call_command("render_demo", minutes=0.08, name="with", **{**common, "stdout": out})
    log_path = tmp_path / "with.inputs.csv"
    assert str(log_path) in out.getvalue()
    truth = read_event_log(tmp_path / "with.truth.json")
    log = input_log_read(log_path, started_at=truth.started_at)
    assert log.screen == (320, 180) and log.clock == "seconds"
    assert all(0 <= e.seconds <= truth.metadata["duration_seconds"] for e in log.events)
    downs = [e for e in log.events if e.kind == "down"]
    assert downs and all(inside(e.seconds, truth.segments, tuple(MENU_CLICKS)) for e in downs)
    call_command("render_demo", "--no-input-log", minutes=0.02, name="without", **common)
    assert (tmp_path / "without.truth.json").exists() and not (tmp_path / "without.inputs.csv").exists()
