"""Rendered clips: what ffprobe sees, and every truth event on a frame that shows its screen."""
from __future__ import annotations

import json
import subprocess
from datetime import datetime, timezone
from io import StringIO
from pathlib import Path
from typing import Any

import av
import numpy as np
import pytest
from django.core.management import call_command

from detection.pipeline.event_log import read_event_log
from detection.pipeline.text import RapidTextReader
from detection.render.families import HELD_OUT_FAMILIES
from detection.render.profile import load_profile
from detection.render.session import RenderResult, render_session
from detection.render.timeline import QUICK_PACING

pytestmark = [pytest.mark.pure, pytest.mark.slow]
START = datetime(2026, 11, 1, 20, 15, 0, tzinfo=timezone.utc)

# What the first frame of each event must show: (class whose region to read, words in it).
SCREEN_OF_STATE = {
    "stash": ("stash_screen", "STASH"), "pre_raid": ("character_select", "CHOOSE YOUR CHARACTER"),
    "queuing": ("queue_timer", "SEARCHING FOR MATCH"), "deploying": ("match_found", "MATCH FOUND"),
    "raid_active": ("gameplay_hud", "HP"), "survived": ("survived_screen", "SURVIVED"),
    "killed_in_action": ("death_screen", "KILLED IN ACTION"), "missing_in_action": ("mia_screen", "MISSING IN ACTION"),
    "post_raid_review": ("post_raid_screen", "RAID SUMMARY"),
}
OUTCOME_STATE = {"survived": "survived", "killed": "killed_in_action", "mia": "missing_in_action"}
# Held-out families may put a screen's title outside its key element's region ("apart"):
# there the words that must be in the region are the key element's own.
HELD_OUT_SCREEN_OF_STATE = {
    **SCREEN_OF_STATE, "pre_raid": ("character_select", "PMC"), "queuing": ("queue_timer", "ESTIMATED TIME"),
    "deploying": ("match_found", "DEPLOYING IN"),
}


def _probe(path: Path, *args: str) -> dict[str, Any]:
    out = subprocess.run(["ffprobe", "-v", "error", "-of", "json", *args, str(path)], check=True, capture_output=True, text=True)
    return json.loads(out.stdout)


def _packet_times(path: Path) -> list[float]:
    packets = _probe(path, "-select_streams", "v:0", "-show_entries", "packet=pts_time")["packets"]
    return sorted(float(p["pts_time"]) for p in packets)


def _frames(path: Path, wanted: set[int]) -> dict[int, tuple[float, np.ndarray]]:
    found = {}
    with av.open(str(path)) as container:
        for i, frame in enumerate(container.decode(video=0)):
            if i in wanted:
                found[i] = (float(frame.time), frame.to_ndarray(format="rgb24"))
            if i >= max(wanted):
                break
    return found


@pytest.fixture(scope="module")
def cfr_clip(tmp_path_factory: pytest.TempPathFactory) -> RenderResult:
    return render_session(out_dir=tmp_path_factory.mktemp("cfr"), seconds=40, fps=30, size=(1280, 720), seed=11,
                          started_at=START, pacing=QUICK_PACING, name="clip")


def test_cfr_clip_has_duration_fps_and_creation_time(cfr_clip: RenderResult) -> None:
    info = _probe(cfr_clip.video, "-show_entries", "format=duration,format_name:format_tags=creation_time:stream=codec_name,width,height,r_frame_rate")
    stream = info["streams"][0]
    assert (stream["codec_name"], stream["width"], stream["height"], stream["r_frame_rate"]) == ("h264", 1280, 720, "30/1")
    assert "matroska" in info["format"]["format_name"]
    assert float(info["format"]["duration"]) == pytest.approx(40, abs=0.05)
    assert info["format"]["tags"]["creation_time"].startswith("2026-11-01T20:15:00")
    gaps = np.diff(_packet_times(cfr_clip.video))
    assert len(gaps) == 1199 and np.all(np.abs(gaps - 1 / 30) < 0.0015)  # constant rate, ms rounding only
    truth = read_event_log(cfr_clip.truth)
    assert truth.metadata["started_at"] == "2026-11-01T20:15:00.000Z" and truth.metadata["fps"] == 30
    assert truth.metadata["resolution"] == "1280x720" and truth.metadata["video"] == "clip.mkv"


@pytest.fixture(scope="module", params=[f.name for f in HELD_OUT_FAMILIES])
def held_out_clip(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> RenderResult:
    return render_session(out_dir=tmp_path_factory.mktemp("heldout"), seconds=40, fps=30, size=(1280, 720), seed=12,
                          started_at=START, pacing=QUICK_PACING, name="clip", style_family=request.param)


def test_every_truth_event_falls_on_a_frame_that_shows_it(cfr_clip: RenderResult) -> None:
    _assert_every_event_readable(cfr_clip, SCREEN_OF_STATE)


def test_held_out_styles_show_every_truth_event_where_the_spec_puts_it(held_out_clip: RenderResult) -> None:
    truth = read_event_log(held_out_clip.truth)
    assert truth.metadata["style"]["family"] in {f.name for f in HELD_OUT_FAMILIES}
    _assert_every_event_readable(held_out_clip, HELD_OUT_SCREEN_OF_STATE)


def _assert_every_event_readable(clip: RenderResult, screen_of_state: dict[str, tuple[str, str]]) -> None:
    profile = load_profile()
    truth = read_event_log(clip.truth)
    assert {e.type for e in truth.events} == {"state_transition", "raid_start", "kill", "raid_end"}
    wanted = {e.frame_number for e in truth.events} | {e.frame_number - 1 for e in truth.events}
    frames = _frames(clip.video, wanted)
    reader = RapidTextReader(max_side=960, cache_size=0)  # every crop read afresh
    for event in truth.events:
        if event.type == "kill":
            cls, words = "kill_notification", ["ELIMINATED", event.data["enemy_type"].upper()]
        elif event.type == "raid_end":
            cls, first = screen_of_state[OUTCOME_STATE[event.data["outcome"]]]
            words = [first, *(event.data[k].upper() for k in ("extract_location", "killed_by") if k in event.data)]
        else:
            state = event.data["to_state"] if event.type == "state_transition" else "raid_active"
            cls, first = screen_of_state[state]
            words = [first]
        pts, image = frames[event.frame_number]
        assert pts == pytest.approx(event.video_offset_seconds, abs=0.0011)
        assert event.timestamp is not None and abs((event.timestamp - START).total_seconds() - event.video_offset_seconds) < 0.002
        x0, y0, x1, y1 = profile.regions[cls]
        height, width = image.shape[:2]
        box = (slice(round(y0 * height), round(y1 * height)), slice(round(x0 * width), round(x1 * width)))
        text = "".join(line.text for line in reader.read(np.ascontiguousarray(image[box][..., ::-1]))).replace(" ", "")
        for word in words:
            assert word.replace(" ", "") in text, (event, word, text)
        # ...and the frame before did not show it yet: the region changed on this very frame.
        _, before = frames[event.frame_number - 1]
        changed = np.abs(image[box].astype(int) - before[box].astype(int)).max(axis=2) > 25
        assert changed.mean() > 0.005, event


def test_render_demo_command_writes_a_vfr_clip_with_exact_timestamps(tmp_path: Path) -> None:
    out = StringIO()
    call_command("render_demo", "--vfr", "--quick", out=str(tmp_path), minutes=0.5, resolution="640x360", seed=3,
                 start="2026-11-01T21:00:00Z", name="vfr", stdout=out, stderr=StringIO())
    video, truth_path = tmp_path / "vfr.mkv", tmp_path / "vfr.truth.json"
    assert str(video) in out.getvalue() and truth_path.exists()
    info = _probe(video, "-show_entries", "format=duration:format_tags=creation_time")
    assert float(info["format"]["duration"]) == pytest.approx(30, abs=0.2)
    assert info["format"]["tags"]["creation_time"].startswith("2026-11-01T21:00:00")
    times = _packet_times(video)
    gaps = np.diff(times)
    typical = float(np.median(gaps))
    assert np.mean(np.abs(gaps - typical) > 0.25 * typical) > 0.05  # clearly variable, as OBS under load
    truth = read_event_log(truth_path)
    assert truth.metadata["vfr"] is True and truth.metadata["frame_count"] == len(times)
    frames = _frames(video, {e.frame_number for e in truth.events})
    for event in truth.events:
        assert frames[event.frame_number][0] == pytest.approx(event.video_offset_seconds, abs=1e-6)
        assert times[event.frame_number] == pytest.approx(event.video_offset_seconds, abs=1e-6)
    assert truth.segments and all(a[0] <= b[0] for a, b in zip(truth.segments, truth.segments[1:]))


def _keyframe_gaps(path: Path) -> np.ndarray:
    packets = _probe(path, "-select_streams", "v:0", "-show_entries", "packet=pts_time,flags")["packets"]
    return np.diff(sorted(float(p["pts_time"]) for p in packets if "K" in p["flags"]))


def test_render_demo_writes_keyframes_as_far_apart_as_asked(tmp_path: Path) -> None:
    """OBS with its keyframe interval on auto writes one every 250 frames: the two-pass mode must pay off on that."""
    for name, extra in (("default", {}), ("sparse", {"keyint": 150})):
        call_command("render_demo", "--quick", out=str(tmp_path), minutes=0.5, resolution="320x180", seed=3, fps=30,
                     start="2026-11-01T21:00:00Z", name=name, input_log=False, stdout=StringIO(), stderr=StringIO(),
                     **extra)
    assert _keyframe_gaps(tmp_path / "default.mkv").max() <= 2.0 + 1e-3
    sparse = _keyframe_gaps(tmp_path / "sparse.mkv")
    assert 2.5 < sparse.max() <= 5.0 + 1e-3
    assert read_event_log(tmp_path / "sparse.truth.json").metadata["keyint"] == 150
