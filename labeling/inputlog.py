"""Input logs: a player's mouse and keyboard, read from CSV or JSON lines and aligned to a recording.

The format is docs/input-log.md. Every row is validated; a file with bad rows is refused as a whole
with one message naming each bad line (the first `MAX_PROBLEMS`), never a crash and never half a log.
Coordinates become fractions of the screen (0-1): pixels when the screen size is known (declared in
the log, or given by the caller), fractions otherwise. Times become seconds from the recording's
start: as written (`seconds` clock) or the wall-clock time less the recording's `started_at`
(`wall` clock). Alignment adds the user's offset: video seconds = log seconds + offset.
No Django here: the service (inputlog_services.py) stores where the file is and its offset.
"""
from __future__ import annotations

import bisect
import csv
import json
import math
import operator
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np

MAX_PROBLEMS = 20
FORMATS = ("csv", "jsonl")
KINDS = ("move", "down", "up", "key_down", "key_up")
_KIND_ALIASES = {"mouse_move": "move", "mousemove": "move", "mouse_down": "down", "mouse_up": "up",
                 "button_down": "down", "button_up": "up", "keydown": "key_down", "keyup": "key_up"}
BUTTONS = ("left", "right", "middle")
CSV_COLUMNS = ("time", "event", "x", "y", "button", "key")
_SCREEN = re.compile(r"^\s*(\d+)\s*[x×]\s*(\d+)\s*$")
_DIRECTIVE = re.compile(r"^#\s*screen\s*[:=]\s*(.+)$", re.I)
# Browser-style key codes (KeyQ, Digit1) as the key they name; single characters upper case.
_KEY_CODE = re.compile(r"^(?:Key([A-Za-z])|Digit([0-9])|Numpad([0-9]))$")


class InputLogError(ValueError):
    """A log that cannot be used; the message names the file's bad lines."""


@dataclass(frozen=True, slots=True)
class InputEvent:
    seconds: float          # from the recording's start by the log's clock, before the offset
    kind: str               # move | down | up | key_down | key_up
    x: float | None = None  # 0-1 of the screen width, when the row has a position
    y: float | None = None
    button: str = ""        # left | right | middle, for down/up
    key: str = ""           # for key_down/key_up, normalised by `key_name`
    line: int = 0


@dataclass(frozen=True)
class ParsedLog:
    format: str
    clock: str                      # seconds | wall
    screen: tuple[int, int] | None  # the size pixel coordinates were divided by, None for fraction logs
    events: tuple[InputEvent, ...]  # in time order (stable for equal times)


def key_name(raw: str) -> str:
    """`q` → `Q`, `KeyQ` → `Q`, `Digit1` → `1`; longer names (Shift, Space, F5) kept as written."""
    name = raw.strip()
    code = _KEY_CODE.match(name)
    if code:
        name = next(group for group in code.groups() if group)
    return name.upper() if len(name) == 1 else name


def screen_size(raw: object) -> tuple[int, int]:
    """`1920x1080`, `[1920, 1080]` → (1920, 1080); a ValueError saying what was expected otherwise."""
    if isinstance(raw, (list, tuple)) and len(raw) == 2 and all(isinstance(v, int) for v in raw):
        width, height = int(raw[0]), int(raw[1])
    else:
        match = _SCREEN.match(str(raw))
        if not match:
            raise ValueError(f"screen {raw!r}: expected WIDTHxHEIGHT, e.g. 1920x1080")
        width, height = int(match.group(1)), int(match.group(2))
    if width < 1 or height < 1:
        raise ValueError(f"screen {raw!r}: width and height must be positive")
    return width, height


def format_of(path: Path) -> str:
    suffix = path.suffix.lower().lstrip(".")
    if suffix in ("jsonl", "ndjson", "json"):
        return "jsonl"
    if suffix in ("csv", "txt"):
        return "csv"
    raise InputLogError(f"{path}: cannot tell the format from {path.suffix!r}; name it .csv or .jsonl")


def input_log_read(path: Path, *, started_at: datetime | None, screen: tuple[int, int] | None = None,
                   format: str | None = None) -> ParsedLog:
    """Parse a log file; `screen` is used when the file declares none, `started_at` for wall-clock rows."""
    fmt = format or format_of(path)
    try:
        # Streamed, not read whole: a long session's log is millions of lines.
        with path.open(encoding="utf-8-sig", newline="") as lines:
            return input_log_parse((line.rstrip("\r\n") for line in lines), format=fmt, started_at=started_at,
                                   screen=screen)
    except FileNotFoundError:
        raise InputLogError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputLogError(f"{path}: cannot be read as UTF-8 text ({exc})") from None
    except InputLogError as exc:
        raise InputLogError(f"{path}: {exc}") from None


def input_log_parse(lines: Iterable[str], *, format: str, started_at: datetime | None,
                    screen: tuple[int, int] | None = None) -> ParsedLog:
    if format not in FORMATS:
        raise InputLogError(f"format {format!r}: one of {', '.join(FORMATS)}")
    reader = _Reader(started_at=started_at, screen=screen)
    rows = _csv_rows(lines, reader) if format == "csv" else _jsonl_rows(lines, reader)
    events = [event for event in (reader.event(line, row) for line, row in rows) if event is not None]
    if reader.problems:
        shown = reader.problems[:MAX_PROBLEMS]
        more = len(reader.problems) - len(shown)
        raise InputLogError(f"{len(reader.problems)} bad row(s): " + "; ".join(shown)
                            + (f"; and {more} more" if more > 0 else ""))
    if not events:
        raise InputLogError("no events in the log")
    events.sort(key=lambda e: e.seconds)
    return ParsedLog(format=format, clock=reader.clock or "seconds", screen=reader.screen_used, events=tuple(events))


Row = tuple[Any, Any, Any, Any, Any, Any]  # time, event, x, y, button, key as written (None or blank: absent)
_PADDING = [""] * (len(CSV_COLUMNS) + 1)


def _csv_rows(lines: Iterable[str], reader: _Reader) -> Iterator[tuple[int, Row]]:
    """Rows by the header's columns; comments are read for the screen directive and skipped."""
    def source() -> Iterator[str]:
        for number, text in enumerate(lines, start=1):
            if text.lstrip().startswith("#"):
                directive = _DIRECTIVE.match(text.strip())
                if directive:
                    reader.declare_screen(directive.group(1), line=number)
                yield ""  # keeps the csv reader's line count equal to the file's
            else:
                yield text

    cells_of = csv.reader(source())
    header: list[str] | None = None
    try:
        for cells in cells_of:
            number = cells_of.line_num
            if not cells or (len(cells) == 1 and not cells[0].strip()):
                continue
            if header is None:
                header = [cell.strip().lower() for cell in cells]
                missing = [c for c in ("time", "event") if c not in header]
                unknown = [c for c in header if c not in CSV_COLUMNS]
                if missing or unknown:
                    reader.problems.append(f"line {number}: the header must name columns from {', '.join(CSV_COLUMNS)} "
                                           f"with time and event (missing {missing}, unknown {unknown})")
                    return
                # A column the header lacks reads the padding's "" (cells are padded past the header's width).
                pick = operator.itemgetter(*(header.index(c) if c in header else len(header) for c in CSV_COLUMNS))
                continue
            if len(cells) > len(header):
                reader.problems.append(f"line {number}: {len(cells)} cells, the header names {len(header)}")
                continue
            yield number, pick(cells + _PADDING)
    except csv.Error as exc:
        reader.problems.append(f"line {cells_of.line_num}: not CSV ({exc})")
    if header is None and not reader.problems:
        reader.problems.append("no header line (time,event,x,y,button,key)")


def _jsonl_rows(lines: Iterable[str], reader: _Reader) -> Iterator[tuple[int, Row]]:
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            row = json.loads(text)
        except json.JSONDecodeError as exc:
            reader.problems.append(f"line {number}: not JSON ({exc.msg} at column {exc.colno})")
            continue
        if not isinstance(row, dict):
            reader.problems.append(f"line {number}: expected a JSON object, got {type(row).__name__}")
            continue
        if "event" not in row and "screen" in row:
            reader.declare_screen(row["screen"], line=number)
            continue
        get = row.get
        yield number, (get("time", get("t")), get("event"), get("x"), get("y"), get("button"), get("key"))


class _Reader:
    """Turns one row into an InputEvent, or notes why not; remembers the clock and screen seen so far."""

    def __init__(self, *, started_at: datetime | None, screen: tuple[int, int] | None) -> None:
        self.started_at = started_at
        self.screen_given = screen
        self.screen_declared: tuple[int, int] | None = None
        self.screen_used: tuple[int, int] | None = None
        self.clock = ""
        self.problems: list[str] = []

    def declare_screen(self, raw: object, *, line: int) -> None:
        try:
            self.screen_declared = screen_size(raw)
        except ValueError as exc:
            self.problems.append(f"line {line}: {exc}")

    def event(self, line: int, row: Row) -> InputEvent | None:
        try:
            return self._event(line, row)
        except ValueError as exc:
            self.problems.append(f"line {line}: {exc}")
            return None

    def _event(self, line: int, row: Row) -> InputEvent:
        raw_time, raw_event, raw_x, raw_y, raw_button, raw_key = row
        seconds = self._seconds(raw_time)
        name = str(raw_event or "").strip().lower()
        kind = _KIND_ALIASES.get(name, name)
        if kind == "move":  # the common row first: a logger writes a move for every step of the cursor
            x, y = self._position(raw_x, raw_y, required=True)
            return InputEvent(seconds, kind, x, y, "", "", line)
        if kind in ("down", "up"):
            x, y = self._position(raw_x, raw_y, required=False)
            button = str(raw_button or "").strip().lower()
            if button not in BUTTONS:
                raise ValueError(f"{kind} needs a button, one of {', '.join(BUTTONS)} (got {raw_button!r})")
            return InputEvent(seconds, kind, x, y, button, "", line)
        if kind in ("key_down", "key_up"):
            key = key_name(str(raw_key or ""))
            if not key:
                raise ValueError(f"{kind} needs a key name")
            return InputEvent(seconds, kind, None, None, "", key, line)
        raise ValueError(f"event {raw_event!r}: one of {', '.join(KINDS)}")

    def _seconds(self, raw: object) -> float:
        if _blank(raw):
            raise ValueError("no time")
        clock = "seconds"
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            seconds = float(raw)
        else:
            try:
                seconds = float(raw)  # type: ignore[arg-type]
            except (TypeError, ValueError):
                clock, seconds = "wall", self._wall_seconds(str(raw).strip())
        if not math.isfinite(seconds):
            raise ValueError(f"time {raw!r} is not a finite number")
        if clock != self.clock:
            if self.clock:
                raise ValueError(f"time {raw!r} is {clock}-clock but earlier rows are {self.clock}-clock; use one")
            self.clock = clock
        return seconds

    def _wall_seconds(self, text: str) -> float:
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValueError(f"time {text!r}: neither seconds nor an ISO 8601 time") from None
        if self.started_at is None:
            raise ValueError(f"time {text!r} is wall-clock but the recording has no start time; log seconds instead")
        if moment.tzinfo is None:  # a time without a zone is read as UTC, as recordings' creation_time is
            moment = moment.replace(tzinfo=timezone.utc)
        return (moment - self.started_at).total_seconds()

    def _position(self, raw_x: object, raw_y: object, *, required: bool) -> tuple[float | None, float | None]:
        if _blank(raw_x) and _blank(raw_y):
            if required:
                raise ValueError("a move needs x and y")
            return None, None
        try:
            x, y = float(raw_x), float(raw_y)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise ValueError(f"x, y ({raw_x!r}, {raw_y!r}) must both be numbers") from None
        if not (math.isfinite(x) and math.isfinite(y)):
            raise ValueError(f"x, y ({raw_x!r}, {raw_y!r}) must be finite")
        screen = self.screen_declared or self.screen_given
        if screen is None:
            if not (0 <= x <= 1 and 0 <= y <= 1):
                raise ValueError(f"x, y ({raw_x}, {raw_y}) look like pixels but no screen size is known: "
                                 "declare it (`# screen: 1920x1080`) or give it when attaching")
            return x, y
        self.screen_used = screen
        # A second monitor puts the cursor past the recorded screen: clamped to its edge.
        return min(1.0, max(0.0, x / screen[0])), min(1.0, max(0.0, y / screen[1]))


def _blank(value: object) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


@dataclass(frozen=True, eq=False)
class InputTrack:
    """A parsed log on the video's clock: what the cursor, the buttons and the keys did, queried by time.

    Positions are arrays (a logger writes one per cursor step: millions in a long session); button and
    key changes, far fewer, are tuples."""

    move_times: np.ndarray                          # video seconds, ascending; also the positions of clicks
    move_xy: np.ndarray                             # (n, 2): x, y in 0-1
    buttons: tuple[tuple[float, str, bool], ...]    # (video seconds, button, pressed)
    keys: tuple[tuple[float, str, bool], ...]       # (video seconds, key, pressed)
    first: float
    last: float

    @classmethod
    def aligned(cls, log: ParsedLog, *, offset_seconds: float) -> InputTrack:
        def at(seconds: float) -> float:
            return round(seconds + offset_seconds, 6)  # 1.7 - 0.1 is 1.6 here, not 1.5999999999999999

        moved = np.array([(e.seconds, e.x, e.y) for e in log.events if e.x is not None], dtype=np.float64).reshape(-1, 3)
        buttons = tuple((at(e.seconds), e.button, e.kind == "down") for e in log.events if e.kind in ("down", "up"))
        keys = tuple((at(e.seconds), e.key, e.kind == "key_down") for e in log.events if e.kind in ("key_down", "key_up"))
        return cls(move_times=np.round(moved[:, 0] + offset_seconds, 6), move_xy=moved[:, 1:], buttons=buttons,
                   keys=keys, first=at(log.events[0].seconds), last=at(log.events[-1].seconds))

    def covers(self, start: float, end: float) -> bool:
        return start <= self.last and end >= self.first

    def position_at(self, t: float) -> tuple[float, float] | None:
        """Where the cursor was at `t`: its last logged position (None before the first)."""
        i = int(np.searchsorted(self.move_times, t, side="right")) - 1
        return (float(self.move_xy[i, 0]), float(self.move_xy[i, 1])) if i >= 0 else None

    def path(self, start: float, end: float) -> list[tuple[float, float, float]]:
        """Positions in [start, end], the one held at `start` first."""
        held = self.position_at(start)
        lo, hi = (int(i) for i in np.searchsorted(self.move_times, [start, end], side="right"))
        steps = [(t, x, y) for t, (x, y) in zip(self.move_times[lo:hi].tolist(), self.move_xy[lo:hi].tolist())]
        return ([(start, *held)] if held else []) + steps

    def presses(self, start: float, end: float) -> list[tuple[float, str]]:
        """Buttons pressed in [start, end)."""
        return _pressed(self.buttons, start, end)

    def key_presses(self, start: float, end: float) -> list[tuple[float, str]]:
        return _pressed(self.keys, start, end)

    def held_buttons(self, t: float) -> list[str]:
        """Buttons down at `t` (pressed at or before it, not yet released)."""
        held = []
        for button, (times, states) in self._button_states.items():
            i = bisect.bisect_right(times, t) - 1
            if i >= 0 and states[i]:
                held.append(button)
        return held

    @cached_property
    def _button_states(self) -> dict[str, tuple[list[float], list[bool]]]:
        """Per button, the times it changed and whether it was then down (the track is frozen; built once)."""
        states: dict[str, tuple[list[float], list[bool]]] = {}
        for when, button, pressed in self.buttons:
            times, downs = states.setdefault(button, ([], []))
            times.append(when)
            downs.append(pressed)
        return states


def _pressed(events: tuple[tuple[float, str, bool], ...], start: float, end: float) -> list[tuple[float, str]]:
    # Bisecting both ends: no copy of the rest of a long session's events per window.
    lo = bisect.bisect_left(events, (start, "", False))
    hi = bisect.bisect_left(events, (end, "", False), lo)
    return [(events[i][0], events[i][1]) for i in range(lo, hi) if events[i][2]]
