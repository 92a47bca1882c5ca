"""Windows: N frames over T seconds every stride, on the source's PTS grid, read in one decoding pass."""
from __future__ import annotations

import pytest

from detection.pipeline.source import FileVideoSource
from detection.pipeline.windows import Span, WindowSpec, state_spans, window_plan, windows_read
from tests.conftest import render_test_video

pytestmark = pytest.mark.pure


def test_plan_covers_the_video_with_the_stride():
    plan = window_plan(duration=10.0, spec=WindowSpec(frames=5, seconds=2.0, stride=2.0))
    assert [(w.start, w.end) for w in plan.windows] == [(0.0, 2.0), (2.0, 4.0), (4.0, 6.0), (6.0, 8.0), (8.0, 10.0)]
    assert plan.skipped == 0
    overlapping = window_plan(duration=4.0, spec=WindowSpec(frames=4, seconds=2.0, stride=1.0))
    assert [w.start for w in overlapping.windows] == [0.0, 1.0, 2.0]


def test_plan_keeps_only_windows_inside_the_states_and_counts_the_rest():
    spans = state_spans([(1.0, "stash"), (3.0, "raid_active"), (9.0, "survived")],
                        states=["raid_active"], duration=12.0, initial="idle")
    assert spans == [Span(3.0, 9.0)]
    plan = window_plan(duration=12.0, spec=WindowSpec(frames=5, seconds=2.0, stride=2.0), spans=spans)
    assert [w.start for w in plan.windows] == [4.0, 6.0]
    assert [w.index for w in plan.windows] == [2, 3]
    assert plan.skipped == 4


def test_state_spans_run_to_the_end_of_the_video():
    assert state_spans([(2.0, "raid_active")], states=["raid_active"], duration=5.0, initial="idle") == [Span(2.0, 5.0)]
    assert state_spans([], states=["idle"], duration=5.0, initial="idle") == [Span(0.0, 5.0)]


def test_a_bad_spec_is_refused():
    with pytest.raises(ValueError, match="frames must be at least 1"):
        WindowSpec(frames=0)


class CountingSource(FileVideoSource):
    seeks = 0

    def seek(self, seconds: float) -> None:
        self.seeks += 1
        super().seek(seconds)


def test_windows_are_read_by_presentation_time_in_one_pass(tmp_path):
    video = render_test_video(tmp_path / "v.mkv", seconds=6.0, fps=30)
    spec = WindowSpec(frames=5, seconds=2.0, stride=1.0)
    plan = window_plan(duration=6.0, spec=spec, spans=[Span(1.0, 6.0)])
    with CountingSource(video, detection_fps=spec.fps) as source:
        windows = list(windows_read(source, plan, spec=spec))
        assert source.seeks == 0
    assert [w.planned.start for w in windows] == [1.0, 2.0, 3.0, 4.0]
    assert windows[0].frame_times == [1.0, 1.4, 1.8, 2.2, 2.6]
    assert windows[-1].frame_times == [4.0, 4.4, 4.8, 5.2, 5.6]
    assert all(len(w.frames) == 5 for w in windows)


def test_a_source_at_another_rate_is_refused(tmp_path):
    video = render_test_video(tmp_path / "v.mkv", seconds=1.0)
    spec = WindowSpec()
    with FileVideoSource(video, detection_fps=10.0) as source, pytest.raises(ValueError, match="need 2.5"):
        list(windows_read(source, window_plan(duration=1.0, spec=spec), spec=spec))
