"""Input logs: the parser (CSV, JSON lines, bad rows), alignment with an offset, the action heads and summary."""
from __future__ import annotations

from datetime import UTC, datetime

import pytest

from labeling.inputlog import InputLogError, InputTrack, input_log_parse, key_name
from labeling.inputlog_actions import frame_actions, window_summary

pytestmark = pytest.mark.pure

STARTED = datetime(2026, 3, 1, 18, 30, tzinfo=UTC)

CSV_LOG = """# screen: 1920x1080
time,event,x,y,button,key
0.0,move,960,540,,
0.5,move,1440,270,,
0.6,down,,,left,
0.7,up,,,left,
0.8,key_down,,,,r
0.9,key_up,,,,r
1.2,mouse_down,1440,270,right,
2.5,button_up,,,right,
3.0,keydown,,,,KeyQ
"""


def test_a_csv_log_in_pixels_becomes_fractions_in_time_order():
    log = input_log_parse(CSV_LOG.splitlines(), format="csv", started_at=None)
    assert log.clock == "seconds" and log.screen == (1920, 1080) and len(log.events) == 9
    first, second = log.events[:2]
    assert (first.kind, first.x, first.y) == ("move", 0.5, 0.5)
    assert (second.x, second.y) == (0.75, 0.25)
    assert [e.kind for e in log.events[2:5]] == ["down", "up", "key_down"]
    assert log.events[4].key == "R" and log.events[-1].key == "Q" and log.events[6].button == "right"


def test_a_jsonl_log_with_wall_clock_times_and_fractions():
    lines = [
        '{"t": "2026-03-01T18:30:02.500+00:00", "event": "move", "x": 0.25, "y": 0.75}',
        '{"time": "2026-03-01T18:30:01", "event": "key_down", "key": "Digit3"}',  # no zone: UTC; out of order
        "",
        '{"t": "2026-03-01T18:30:03Z", "event": "down", "button": "left"}',
    ]
    log = input_log_parse(lines, format="jsonl", started_at=STARTED)
    assert log.clock == "wall" and log.screen is None
    assert [(e.seconds, e.kind) for e in log.events] == [(1.0, "key_down"), (2.5, "move"), (3.0, "down")]
    assert log.events[0].key == "3" and (log.events[1].x, log.events[1].y) == (0.25, 0.75)


def test_a_jsonl_header_declares_the_screen():
    lines = ['{"screen": [1000, 500]}', '{"t": 1, "event": "move", "x": 250, "y": 500}']
    log = input_log_parse(lines, format="jsonl", started_at=None)
    assert (log.events[0].x, log.events[0].y) == (0.25, 1.0) and log.screen == (1000, 500)


def test_bad_rows_are_refused_together_each_line_named():
    text = CSV_LOG + "\n".join([
        "3.5,jump,,,,",              # line 12: unknown event
        "abc,move,1,1,,",            # 13: time neither seconds nor ISO
        "4.0,move,,,,",              # 14: a move without a position
        "4.1,down,,,middle-ish,",    # 15: unknown button
        "4.2,key_up,,,,",            # 16: no key
        "4.3,move,NaN,1,,",          # 17: not finite
        "1,2,3,4,5,6,7",             # 18: too many cells
    ])
    with pytest.raises(InputLogError) as refused:
        input_log_parse(text.splitlines(), format="csv", started_at=None)
    message = str(refused.value)
    assert message.startswith("7 bad row(s): ")
    for line, words in ((12, "event 'jump'"), (13, "time 'abc': neither seconds nor an ISO 8601 time"), (14, "a move needs x and y"),
                        (15, "down needs a button"), (16, "key_up needs a key name"), (17, "x, y ('NaN', '1') must be finite"), (18, "7 cells")):
        assert f"line {line}: {words}" in message


@pytest.mark.parametrize(("lines", "format", "started_at", "words"), [
    (["time,event,x,y", "0,move,960,540"], "csv", None, "line 2: x, y (960, 540) look like pixels but no screen size"),
    (["when,event", "0,move"], "csv", None, "line 1: the header must name columns"),
    (["# just a comment"], "csv", None, "no header line"),
    (["time,event,x,y"], "csv", None, "no events in the log"),
    (['{"t": 0, "event": "move", "x": 0.1, "y": 0.1}', "[1, 2]", "{oops"], "jsonl", None,
     "line 2: expected a JSON object, got list; line 3: not JSON"),
    (['{"t": "2026-03-01T18:30:00Z", "event": "key_down", "key": "R"}'], "jsonl", None,
     "line 1: time '2026-03-01T18:30:00Z' is wall-clock but the recording has no start time"),
    (['{"t": 1, "event": "key_down", "key": "R"}', '{"t": "2026-03-01T18:30:00Z", "event": "key_up", "key": "R"}'],
     "jsonl", STARTED, "line 2: time '2026-03-01T18:30:00Z' is wall-clock but earlier rows are seconds-clock"),
    (['{"screen": "wide"}', '{"t": 1, "event": "key_down", "key": "R"}'], "jsonl", None,
     "line 1: screen 'wide': expected WIDTHxHEIGHT"),
])
def test_what_makes_a_log_unusable_is_said(lines, format, started_at, words):
    with pytest.raises(InputLogError, match=None) as refused:
        input_log_parse(lines, format=format, started_at=started_at)
    assert words in str(refused.value)


def test_many_bad_rows_are_counted_not_all_listed():
    lines = ["time,event"] + [f"{i},fly" for i in range(30)]
    with pytest.raises(InputLogError) as refused:
        input_log_parse(lines, format="csv", started_at=None)
    assert str(refused.value).startswith("30 bad row(s)") and "and 10 more" in str(refused.value)


def test_key_names():
    assert [key_name(k) for k in ("q", "KeyE", "Digit0", "Numpad7", "Shift", " r ")] == ["Q", "E", "0", "7", "Shift", "R"]


def test_alignment_adds_the_offset_to_every_event():
    log = input_log_parse(CSV_LOG.splitlines(), format="csv", started_at=None)
    track = InputTrack.aligned(log, offset_seconds=10.0)
    assert (track.first, track.last) == (10.0, 13.0)
    assert track.position_at(9.9) is None and track.position_at(10.49) == (0.5, 0.5)
    assert track.position_at(10.5) == (0.75, 0.25)
    assert track.presses(10.6, 10.61) == [(10.6, "left")] and track.presses(0.6, 0.61) == []
    assert track.held_buttons(11.5) == ["right"] and track.held_buttons(12.6) == []
    assert track.key_presses(10, 14) == [(10.8, "R"), (13.0, "Q")]
    earlier = InputTrack.aligned(log, offset_seconds=-0.6)
    assert earlier.presses(0.0, 0.01) == [(0.0, "left")] and earlier.first == -0.6


def test_action_heads_per_frame():
    track = InputTrack.aligned(input_log_parse(CSV_LOG.splitlines(), format="csv", started_at=None), offset_seconds=0)
    actions = frame_actions(track, [0.0, 0.4, 0.8, 1.2, 1.6], end=2.0)
    assert [a["mouse"] for a in actions] == [[0.5, 0.5], [0.5, 0.5], [0.75, 0.25], [0.75, 0.25], [0.75, 0.25]]
    # 0.4-0.8: left pressed at 0.6; 0.8-1.2: R; 1.2 on: right pressed, then held.
    assert [a["click"] for a in actions] == ["none", "left", "none", "right", "right"]
    assert [a["hotkey"] for a in actions] == ["none", "none", "R", "none", "none"]
    outside = frame_actions(track, [20.0, 20.4], end=20.8)
    assert outside == [{"t": 20.0, "mouse": None, "click": "none", "hotkey": "none"},
                       {"t": 20.4, "mouse": None, "click": "none", "hotkey": "none"}]


def test_the_window_summary_says_path_clicks_and_keys_and_nothing_outside_the_log():
    track = InputTrack.aligned(input_log_parse(CSV_LOG.splitlines(), format="csv", started_at=None), offset_seconds=0)
    summary = window_summary(track, 0.0, 2.0)
    assert "cursor from (0.50, 0.50) to (0.75, 0.25)" in summary and "net right and up" in summary
    assert "clicks: 1 left, 1 right" in summary and "keys pressed in order: R" in summary
    assert "held from before: right" in window_summary(track, 2.0, 4.0)
    assert window_summary(track, 30.0, 32.0) == ""
