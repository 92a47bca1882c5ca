"""Blanked screens: chosen as asked, drawn as black, frozen or noise frames, truth untouched."""
from __future__ import annotations

import random
from datetime import datetime, timezone
from io import StringIO
from pathlib import Path

import numpy as np
import pytest
from django.core.management import call_command

from detection.pipeline.event_log import read_event_log
from detection.render.blanking import KEY_SCREENS, blanked_spans, choose_blanks, choose_hidden_kills
from detection.render.compositor import Compositor, Look
from detection.render.profile import load_profile
from detection.render.style import random_style
from detection.render.timeline import QUICK_PACING, SCREEN_CLASS, Timeline, plan_session

pytestmark = pytest.mark.pure
SIZE = (320, 180)


def _timeline(seed: int = 4, seconds: float = 600) -> Timeline:
    return plan_session(seconds, load_profile(), random.Random(seed))


def test_single_blanks_include_a_stash_or_end_screen_and_never_the_raid() -> None:
    for seed in range(12):
        timeline = _timeline(seed)
        blanks = choose_blanks(timeline, screens=3, stretch=0, rng=random.Random(seed))
        screens = [timeline.segments[i].screen for i in blanks]
        assert len(blanks) == 3 and set(blanks.values()) <= {"black", "frozen", "noise"}
        assert any(screen in KEY_SCREENS for screen in screens)
        assert not {"raid", "black"} & set(screens)
        last_raid = max(s.index for s in timeline.segments if s.screen == "raid")
        assert max(blanks) < last_raid  # a later raid shows whether the blanked one was lost


def test_a_stretch_is_consecutive_screens_after_a_raid_end_before_the_next_raid() -> None:
    timeline = _timeline(9)
    blanks = sorted(choose_blanks(timeline, screens=0, stretch=4, rng=random.Random(1)))
    screens = [timeline.segments[i].screen for i in blanks]
    assert len(blanks) == 4 and screens[0] in ("survived", "killed", "mia")
    between = [s.screen for s in timeline.segments[blanks[0]:blanks[-1] + 1]]
    assert "raid" not in between and [s for s in between if s != "black"] == screens
    assert choose_blanks(timeline, screens=0, stretch=4, rng=random.Random(1)) == choose_blanks(
        timeline, screens=0, stretch=4, rng=random.Random(1))


def test_too_many_blanks_is_a_clear_error() -> None:
    with pytest.raises(ValueError, match="too few"):
        choose_blanks(_timeline(seconds=20), screens=50, stretch=0, rng=random.Random(0))
    with pytest.raises(ValueError, match="no raid ends before another raid"):
        choose_blanks(_timeline(seconds=20), screens=0, stretch=2, rng=random.Random(0))


def test_blanked_segments_show_black_frozen_or_noise_for_their_whole_span() -> None:
    profile = load_profile()
    timeline = plan_session(90, profile, random.Random(2), QUICK_PACING)
    style, look = random_style(random.Random(3)), Look(grain=0.0, blur=0.0, pan=0.1)
    plain = Compositor(timeline, SIZE, style, profile, seed=5, look=look)
    menus = [s for s in timeline.segments if SCREEN_CLASS[s.screen] and s.screen != "raid"]
    kinds = ("black", "frozen", "noise")
    blanked = Timeline(timeline.duration, timeline.segments, timeline.kills, timeline.hud, timeline.events,
                       blanked={s.index: kinds[i % 3] for i, s in enumerate(menus[2:8])})
    hidden = Compositor(blanked, SIZE, style, profile, seed=5, look=look)
    for segment in timeline.segments:
        kind = blanked.blanked.get(segment.index)
        before = hidden.frame(segment.start - 1e-3).copy() if kind == "frozen" else None  # what the viewer saw last
        for t in np.linspace(segment.start, segment.end - 0.01, 5):
            frame = hidden.frame(float(t))
            if kind is None:
                assert np.array_equal(frame, plain.frame(float(t)))
            elif kind == "black":
                assert frame.mean() < 12
            elif kind == "frozen":
                assert np.array_equal(frame, before)
            else:
                assert frame.std() > 50 and not np.array_equal(frame, plain.frame(float(t)))
    spans = blanked_spans(blanked)
    assert [(s[2], s[3]) for s in spans] == [(SCREEN_CLASS[s.screen], kinds[i % 3]) for i, s in enumerate(menus[2:8])]


def test_hidden_kills_are_listed_by_a_shown_summary_and_never_drawn() -> None:
    profile = load_profile()
    timeline = plan_session(300, profile, random.Random(2), QUICK_PACING)
    summaries = [s for s in timeline.segments if s.screen == "post_raid"]
    timeline.blanked = {summaries[0].index: "black"}  # the first raid's summary lists nothing anyone sees
    hidden = choose_hidden_kills(timeline, count=3, rng=random.Random(1))
    first_raid = next(s for s in timeline.segments if s.screen == "raid")
    assert len(hidden) == 3 and all(timeline.kills[i].start >= first_raid.end for i in hidden)
    timeline.hidden_kills = hidden
    style, look = random_style(random.Random(3)), Look(grain=0.0, blur=0.0, pan=0.1)
    plain = Timeline(timeline.duration, timeline.segments, timeline.kills, timeline.hud, timeline.events)
    drawn, undrawn = (Compositor(t, SIZE, style, profile, seed=5, look=look) for t in (plain, timeline))
    for i, kill in enumerate(timeline.kills):
        middle = (kill.start + kill.end) / 2
        assert timeline.kill_at(middle) is (None if i in hidden else kill)
        assert np.array_equal(drawn.frame(middle), undrawn.frame(middle)) is (i not in hidden)
    with pytest.raises(ValueError, match="too few"):
        choose_hidden_kills(timeline, count=len(timeline.kills), rng=random.Random(1))


@pytest.mark.slow
def test_render_demo_blanks_screens_and_keeps_the_truth(tmp_path: Path) -> None:
    common = dict(minutes=1.5, resolution="320x180", seed=8, start="2026-11-01T21:00:00Z", quick=True, stderr=StringIO())
    call_command("render_demo", out=str(tmp_path), name="plain", stdout=StringIO(), **common)
    call_command("render_demo", out=str(tmp_path), name="blanked", blank_screens=2, blank_stretch=2, hide_kills=1,
                 style_family="muted", stdout=StringIO(), **common)
    plain, blanked = read_event_log(tmp_path / "plain.truth.json"), read_event_log(tmp_path / "blanked.truth.json")
    assert [(e.type, e.video_offset_seconds, e.data) for e in plain.events] == [
        (e.type, e.video_offset_seconds, e.data) for e in blanked.events]
    assert plain.segments == blanked.segments
    assert plain.metadata["style"]["family"] == "classic" and "blanked" not in plain.metadata
    assert blanked.metadata["style"]["family"] == "muted"
    assert blanked.metadata["style"]["title_font"].startswith("heldout/")
    hidden = blanked.metadata["blanked"]
    assert len(hidden) == 4 and all(kind in ("black", "frozen", "noise") for *_, kind in hidden)
    assert any(cls in ("stash_screen", "survived_screen", "death_screen", "mia_screen") for _, _, cls, _ in hidden)
    (kill,) = blanked.metadata["hidden_kills"]
    assert any(e.type == "kill" and abs(e.video_offset_seconds - kill[0]) < 0.1 for e in blanked.events)
    assert started(blanked) == datetime(2026, 11, 1, 21, 0, tzinfo=timezone.utc)


def started(log: object) -> datetime:
    from detection.pipeline.event_log import parse_timestamp

    return parse_timestamp(log.metadata["started_at"], where="started_at")  # type: ignore[attr-defined]
