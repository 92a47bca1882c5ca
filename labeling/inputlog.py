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
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import Any

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


@dataclass(frozen=True)
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
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise InputLogError(f"{path}: no such file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputLogError(f"{path}: cannot be read as UTF-8 text ({exc})") from None
    try:
        return input_log_parse(text.splitlines(), format=fmt, started_at=started_at, screen=screen)
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


def _csv_rows(lines: Iterable[str], reader: _Reader) -> Iterator[tuple[int, dict[str, Any]]]:
    header: list[str] | None = None
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        if text.lstrip().startswith("#"):
            directive = _DIRECTIVE.match(text.strip())
            if directive:
                reader.declare_screen(directive.group(1), line=number)
            continue
        try:
            cells = next(csv.reader([text]))
        except csv.Error as exc:
            reader.problems.append(f"line {number}: not CSV ({exc})")
            continue
        if header is None:
            header = [cell.strip().lower() for cell in cells]
            missing = [c for c in ("time", "event") if c not in header]
            unknown = [c for c in header if c not in CSV_COLUMNS]
            if missing or unknown:
                reader.problems.append(f"line {number}: the header must name columns from {', '.join(CSV_COLUMNS)} "
                                       f"with time and event (missing {missing}, unknown {unknown})")
                return
            continue
        if len(cells) > len(header):
            reader.problems.append(f"line {number}: {len(cells)} cells, the header names {len(header)}")
            continue
        yield number, {name: cell.strip() for name, cell in zip(header, cells) if cell.strip() != ""}
    if header is None and not reader.problems:
        reader.problems.append("no header line (time,event,x,y,button,key)")


def _jsonl_rows(lines: Iterable[str], reader: _Reader) -> Iterator[tuple[int, dict[str, Any]]]:
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
        yield number, {("time" if k == "t" else k): v for k, v in row.items()}


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

    def event(self, line: int, row: dict[str, Any]) -> InputEvent | None:
        try:
            return self._event(line, row)
        except ValueError as exc:
            self.problems.append(f"line {line}: {exc}")
            return None

    def _event(self, line: int, row: dict[str, Any]) -> InputEvent:
        seconds = self._seconds(row.get("time"))
        raw_kind = str(row.get("event", "")).strip().lower()
        kind = _KIND_ALIASES.get(raw_kind, raw_kind)
        if kind not in KINDS:
            raise ValueError(f"event {row.get('event')!r}: one of {', '.join(KINDS)}")
        x, y = self._position(row, required=kind == "move")
        button = key = ""
        if kind in ("down", "up"):
            button = str(row.get("button", "")).strip().lower()
            if button not in BUTTONS:
                raise ValueError(f"{kind} needs a button, one of {', '.join(BUTTONS)} (got {row.get('button')!r})")
        elif kind in ("key_down", "key_up"):
            key = key_name(str(row.get("key", "")))
            if not key:
                raise ValueError(f"{kind} needs a key name")
        return InputEvent(seconds=seconds, kind=kind, x=x, y=y, button=button, key=key, line=line)

    def _seconds(self, raw: object) -> float:
        if raw is None or raw == "":
            raise ValueError("no time")
        clock, seconds = "seconds", math.nan
        if isinstance(raw, (int, float)) and not isinstance(raw, bool):
            seconds = float(raw)
        else:
            text = str(raw).strip()
            try:
                seconds = float(text)
            except ValueError:
                clock, seconds = "wall", self._wall_seconds(text)
        if not math.isfinite(seconds):
            raise ValueError(f"time {raw!r} is not a finite number")
        if self.clock and clock != self.clock:
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

    def _position(self, row: dict[str, Any], *, required: bool) -> tuple[float | None, float | None]:
        raw_x, raw_y = row.get("x"), row.get("y")
        if raw_x in (None, "") and raw_y in (None, ""):
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


@dataclass(frozen=True)
class InputTrack:
    """A parsed log on the video's clock: what the cursor, the buttons and the keys did, queried by time."""

    moves: tuple[tuple[float, float, float], ...]   # (video seconds, x, y), also the positions of clicks
    buttons: tuple[tuple[float, str, bool], ...]    # (video seconds, button, pressed)
    keys: tuple[tuple[float, str, bool], ...]       # (video seconds, key, pressed)
    first: float
    last: float

    @classmethod
    def aligned(cls, log: ParsedLog, *, offset_seconds: float) -> InputTrack:
        moves: list[tuple[float, float, float]] = []
        buttons: list[tuple[float, str, bool]] = []
        keys: list[tuple[float, str, bool]] = []
        for e in log.events:
            t = round(e.seconds + offset_seconds, 6)  # 1.7 - 0.1 is 1.6 here, not 1.5999999999999999
            if e.x is not None and e.y is not None:
                moves.append((t, e.x, e.y))
            if e.kind in ("down", "up"):
                buttons.append((t, e.button, e.kind == "down"))
            elif e.kind in ("key_down", "key_up"):
                keys.append((t, e.key, e.kind == "key_down"))
        times = [round(e.seconds + offset_seconds, 6) for e in log.events]
        return cls(moves=tuple(moves), buttons=tuple(buttons), keys=tuple(keys), first=min(times), last=max(times))

    def covers(self, start: float, end: float) -> bool:
        return start <= self.last and end >= self.first

    def position_at(self, t: float) -> tuple[float, float] | None:
        """Where the cursor was at `t`: its last logged position (None before the first)."""
        i = bisect.bisect_right(self.moves, (t, math.inf, math.inf)) - 1
        return (self.moves[i][1], self.moves[i][2]) if i >= 0 else None

    def path(self, start: float, end: float) -> list[tuple[float, float, float]]:
        """Positions in [start, end], the one held at `start` first."""
        held = self.position_at(start)
        lo = bisect.bisect_right(self.moves, (start, math.inf, math.inf))
        hi = bisect.bisect_right(self.moves, (end, math.inf, math.inf))
        return ([(start, *held)] if held else []) + list(self.moves[lo:hi])

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
    lo = bisect.bisect_left(events, (start, "", False))
    out = []
    for when, name, pressed in events[lo:]:
        if when >= end:
            break
        if pressed:
            out.append((when, name))
    return out
