"""Blanked screens: stretches of a recording where the UI never reaches the video.

A streamer cuts to a "be right back" scene, the capture card drops out, a frame
freezes: the game went on, so the truth does not change, but the footage shows
nothing of those screens. Rendering such gaps tests that one missed screen (or a few
between two raids) never costs a raid or a kill. The raid itself is never blanked:
footage without the raid cannot show its kills; its kill notifications may be hidden instead (a
webcam or an alert box over the kill feed), which only the post-raid summary's kill list then shows.
"""
from __future__ import annotations

import random

from .screens import LISTED_ROWS
from .timeline import SCREEN_CLASS, Timeline

BLANK_KINDS = ("black", "frozen", "noise")
# Blanking one of these loses the most: a missed stash or end screen once cost a whole raid.
KEY_SCREENS = ("stash", "survived", "killed", "mia")


def choose_blanks(timeline: Timeline, *, screens: int, stretch: int, rng: random.Random) -> dict[int, str]:
    """Segment index → what replaces it: `screens` single screens (one at least a stash or end screen)
    and one `stretch` of that many screens in a row between two raids, starting at an end screen.

    Only screens that a later raid follows are blanked: the end of a recording's last raid
    cannot be told from anything after it, so hiding it would test nothing but the cut.
    """
    if screens < 0 or stretch < 0:
        raise ValueError("the number of blanked screens cannot be negative")
    segments = timeline.segments
    last_raid = max((s.index for s in segments if s.screen == "raid"), default=-1)

    def blankable(screen: str, index: int) -> bool:
        return SCREEN_CLASS[screen] is not None and screen != "raid" and index < last_raid

    candidates = [s.index for s in segments if blankable(s.screen, s.index)]
    chosen: list[int] = []
    if stretch:
        starts = [s.index for s in segments if s.screen in ("survived", "killed", "mia") and s.index < last_raid]
        if not starts:
            raise ValueError("no raid ends before another raid in this recording: nothing to blank a stretch from")
        for segment in segments[rng.choice(starts):]:  # a segment's index is its position
            if segment.screen == "raid" or len(chosen) == stretch:
                break
            if blankable(segment.screen, segment.index):
                chosen.append(segment.index)
    if screens:
        key = [i for i in candidates if segments[i].screen in KEY_SCREENS and i not in chosen]
        rest = [i for i in candidates if i not in chosen]
        if len(rest) < screens or not key:
            raise ValueError(f"this recording has {len(rest)} screens to blank ({len(key)} stash or end screens): "
                             f"too few for {screens}")
        first = rng.choice(key)
        chosen += [first, *rng.sample([i for i in rest if i != first], screens - 1)]
    return {index: rng.choice(BLANK_KINDS) for index in sorted(chosen)}


def blanked_spans(timeline: Timeline) -> list[list[object]]:
    """What the truth's metadata says was hidden: [start_s, end_s, detector class, replaced by]."""
    return [[s.start, s.end, SCREEN_CLASS[s.screen], timeline.blanked[s.index]]
            for s in timeline.segments if s.index in timeline.blanked]


def choose_hidden_kills(timeline: Timeline, *, count: int, rng: random.Random) -> set[int]:
    """`count` kills (indices into `timeline.kills`) whose notification is not drawn, each of a raid whose
    post-raid summary is shown (not blanked, inside the recording) and lists it (the first `LISTED_ROWS` of
    the raid's kills): that list is all that shows it."""
    if count < 0:
        raise ValueError("the number of hidden kills cannot be negative")
    if not count:
        return set()
    candidates = []
    for raid in (s for s in timeline.segments if s.screen == "raid"):
        summary = next((s for s in timeline.segments[raid.index + 1:] if s.screen in ("raid", "post_raid")), None)
        if summary is None or summary.screen != "post_raid" or summary.index in timeline.blanked \
                or summary.end > timeline.duration:
            continue
        in_raid = [i for i, kill in enumerate(timeline.kills) if raid.start <= kill.start < raid.end]
        candidates += in_raid[:LISTED_ROWS]
    if len(candidates) < count:
        raise ValueError(f"this recording has {len(candidates)} kills that a shown summary lists: too few for {count}")
    return set(rng.sample(candidates, count))


def hidden_kill_spans(timeline: Timeline) -> list[list[object]]:
    """What the truth's metadata says was hidden: [start_s, end_s, enemy, weapon, headshot]."""
    return [[k.start, k.end, k.enemy, k.weapon, k.headshot] for i, k in enumerate(timeline.kills)
            if i in timeline.hidden_kills]
