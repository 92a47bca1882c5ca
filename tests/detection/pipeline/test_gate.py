"""The change gate's decision, stated once per region as its docstring defines it, against the gate's
counting (one difference image, counts from its integral image)."""
from __future__ import annotations

from pathlib import Path

import av
import numpy as np
import pytest
from av.video.reformatter import VideoReformatter
from hypothesis import given, settings
from hypothesis import strategies as st

from detection.pipeline.gate import GateState, RegionChangeGate
from detection.pipeline.profile import load_profile
from detection.pipeline.source import analysis_frame
from detection.pipeline.types import WHOLE_FRAME, Box, Frame
from tests.detection.pipeline.synthetic import session_script, write_video

REGIONS = (Box(0.0, 0.0, 1.0, 1.0), Box(0.55, 0.05, 0.98, 0.30), Box(0.0, 0.85, 0.45, 1.0),
           Box(0.40, 0.70, 0.60, 0.80), Box(0.995, 0.995, 1.0, 1.0))


def moved_by_definition(gate: RegionChangeGate, now: np.ndarray, then: np.ndarray) -> bool:
    """More than `threshold` of some region's thumbnail pixels moved by more than `pixel_delta` grey levels."""
    height = now.shape[0]
    for box in gate.regions:
        x0, y0, x1, y1 = box.pixels(gate.size, height)
        a = now[y0:max(y1, y0 + 1), x0:max(x1, x0 + 1)].astype(np.int16)
        b = then[y0:max(y1, y0 + 1), x0:max(x1, x0 + 1)].astype(np.int16)
        if a.size and float(np.mean(np.abs(a - b) > gate.pixel_delta)) > gate.threshold:
            return True
    return False


def frame(image: np.ndarray, number: int) -> Frame:
    return Frame(picture=image, number=number, video_time=number / 10)


@settings(max_examples=60, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), threshold=st.sampled_from([0.0, 0.002, 0.02, 0.1]),
       spots=st.lists(st.tuples(st.floats(0, 1), st.floats(0, 1), st.integers(1, 40), st.integers(0, 255)),
                      max_size=4))
def test_the_gate_changes_exactly_where_a_region_moved(seed: int, threshold: float,
                                                      spots: list[tuple[float, float, int, int]]) -> None:
    rng = np.random.default_rng(seed)
    first = rng.integers(0, 256, (360, 640, 3), dtype=np.uint8)
    second = np.clip(first.astype(np.int16) + rng.integers(-12, 13, first.shape), 0, 255).astype(np.uint8)
    for fx, fy, side, value in spots:  # a notification's worth of new pixels somewhere
        x, y = int(fx * 600), int(fy * 320)
        second[y:y + side, x:x + side] = value
    gate = RegionChangeGate(REGIONS, threshold=threshold)
    assert gate.changed(frame(first, 0))
    expected = moved_by_definition(gate, gate._grey(frame(second, 1)), gate._grey(frame(first, 0)))
    assert gate.changed(frame(second, 1)) is expected


def test_a_restored_gate_decides_as_the_unbroken_one() -> None:
    rng = np.random.default_rng(3)
    images = [rng.integers(0, 256, (360, 640, 3), dtype=np.uint8) for _ in range(3)]
    images[1] = images[0].copy()
    images[2] = images[0].copy()
    images[2][20:90, 380:620] = 255
    unbroken = RegionChangeGate(REGIONS, threshold=0.02)
    decisions = [unbroken.changed(frame(image, n)) for n, image in enumerate(images[:2])]
    state = unbroken.state()
    resumed = RegionChangeGate(REGIONS, threshold=0.02)
    resumed.restore(state)
    assert decisions == [True, False]
    assert resumed.changed(frame(images[2], 2)) is unbroken.changed(frame(images[2], 2)) is True
    assert isinstance(state, GateState) and state.reused == 1


def test_a_frame_of_another_shape_is_a_change() -> None:
    gate = RegionChangeGate(REGIONS, threshold=0.5)
    assert gate.changed(frame(np.zeros((360, 640, 3), np.uint8), 0))
    assert not gate.changed(frame(np.zeros((360, 640, 3), np.uint8), 1))
    assert gate.changed(frame(np.zeros((480, 640, 3), np.uint8), 2))


def test_a_frame_one_pixel_high_is_still_a_frame() -> None:
    gate = RegionChangeGate(REGIONS, threshold=0.02)
    assert gate.changed(frame(np.zeros((1, 1920, 3), np.uint8), 0))
    assert not gate.changed(frame(np.zeros((1, 1920, 3), np.uint8), 1))


@pytest.mark.slow
def test_the_gate_decides_from_a_frames_luma_plane_as_from_its_converted_picture(tmp_path: Path) -> None:
    """A file source's frame gives the gate its luma plane, so a frame the gate passes over is never converted."""
    video = write_video(session_script(), tmp_path / "session.mkv", fps=10, width=1280, height=720)
    profile = load_profile("demo")
    from_luma, from_picture = (RegionChangeGate([*profile.regions.values(), WHOLE_FRAME], threshold=0.02)
                               for _ in range(2))
    decisions: list[tuple[bool, bool]] = []
    with av.open(str(video)) as container:
        for n, decoded in enumerate(container.decode(video=0)):
            deferred, eager = (analysis_frame(decoded, n / 10, stream_fps=10, width=640, reformatter=VideoReformatter(),
                                              started_at=None, deferred=later) for later in (True, False))
            decisions.append((from_luma.changed(deferred), from_picture.changed(eager)))
            assert "image" not in vars(deferred)
            assert float(np.abs(from_luma._grey(deferred).astype(int) - from_picture._grey(eager).astype(int)).mean()) < 2
    assert [luma for luma, _ in decisions] == [picture for _, picture in decisions]
    assert 10 < sum(luma for luma, _ in decisions) < len(decisions)  # screens and kills changed it, the rest did not
