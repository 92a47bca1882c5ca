"""What an input track says about a window: the analyst's one-paragraph summary and the policy's action heads.

Action heads, per frame (docs/input-log.md): a frame's action is what the player did from that frame
until the next one (the last frame: until the window's end, or one frame gap when the window ends on it).
- mouse: the cursor at the frame's time, [x, y] in 0-1 of the screen (null before the log's first position);
- click: `left` or `right` when that button was pressed during the frame's span or held at its time
  (left wins when both), else `none` (middle clicks are `none`: the policy has no middle head);
- hotkey: the first of 1-9, 0, Q, E, R pressed during the span, else `none`.
"""
from __future__ import annotations

from typing import Any

from labeling.inputlog import InputTrack

HOTKEYS = ("1", "2", "3", "4", "5", "6", "7", "8", "9", "0", "Q", "E", "R")
CLICKS = ("left", "right")
NONE = "none"
# Keys listed in a summary at most; a window is 2 s, so more would be mashing or a held movement key.
SUMMARY_KEYS = 8


def frame_spans(frame_times: list[float], end: float) -> list[tuple[float, float]]:
    spans = []
    for i, t in enumerate(frame_times):
        if i + 1 < len(frame_times):
            until = frame_times[i + 1]
        elif end > t:
            until = end
        else:
            until = t + (t - frame_times[i - 1] if i > 0 else 0.1)
        spans.append((t, until))
    return spans


def frame_actions(track: InputTrack, frame_times: list[float], *, end: float) -> list[dict[str, Any]]:
    """The three heads for each frame; frames outside the log's time span get mouse null and none/none."""
    actions: list[dict[str, Any]] = []
    for start, until in frame_spans(frame_times, end):
        if not track.covers(start, until):
            actions.append({"t": round(start, 3), "mouse": None, "click": NONE, "hotkey": NONE})
            continue
        position = track.position_at(start)
        pressed = {button for _, button in track.presses(start, until)} | set(track.held_buttons(start))
        click = next((button for button in CLICKS if button in pressed), NONE)
        hotkey = next((key for _, key in track.key_presses(start, until) if key in HOTKEYS), NONE)
        mouse = [round(position[0], 4), round(position[1], 4)] if position else None
        actions.append({
            "t": round(start, 3),
            "mouse": mouse,
            "click": click,
            "hotkey": hotkey,
        })
    return actions


def window_summary(track: InputTrack, start: float, end: float) -> str:
    """One sentence or two for the prompt: the cursor's path, clicks and keys over [start, end].

    Empty when the log does not reach the window (nothing to say, and nothing is said); a window
    the log covers but where the player did nothing says so, which is itself worth knowing."""
    if not track.covers(start, end):
        return ""
    parts = [_cursor(track, start, end)]
    clicks = track.presses(start, end)
    if clicks:
        counts = {b: sum(1 for _, pressed in clicks if pressed == b) for b in ("left", "right", "middle")}
        parts.append("clicks: " + ", ".join(f"{n} {b}" for b, n in counts.items() if n))
    held = track.held_buttons(start)
    if held:
        parts.append("held from before: " + ", ".join(held))
    keys = [key for _, key in track.key_presses(start, end)]
    if keys:
        shown = keys[:SUMMARY_KEYS]
        parts.append("keys pressed in order: " + " ".join(shown) + (f" (+{len(keys) - len(shown)} more)"
                                                                   if len(keys) > len(shown) else ""))
    else:
        parts.append("no keys pressed")
    return "; ".join(parts) + "."


def _cursor(track: InputTrack, start: float, end: float) -> str:
    path = track.path(start, end)
    if not path:
        return "cursor position unknown"
    (_, x0, y0), (_, x1, y1) = path[0], path[-1]
    travelled = sum(((b[1] - a[1]) ** 2 + (b[2] - a[2]) ** 2) ** 0.5 for a, b in zip(path, path[1:]))
    if travelled < 0.01:
        return f"cursor still at ({x0:.2f}, {y0:.2f})"
    dx, dy = x1 - x0, y1 - y0
    heading = " and ".join(word for word, amount in (("right" if dx > 0 else "left", abs(dx)),
                                                     ("down" if dy > 0 else "up", abs(dy))) if amount >= 0.02)
    return (f"cursor from ({x0:.2f}, {y0:.2f}) to ({x1:.2f}, {y1:.2f}) (0-1 of the screen), "
            f"a path of {travelled:.2f} screen-lengths" + (f", net {heading}" if heading else ", ending where it began"))
