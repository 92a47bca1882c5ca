"""The two-pass proposal rules: from what the keyframes show and where the encoder spent its bits
between them, the spans of video the full pass must decode.

Two cues, neither of which needs the detector to be sure of a look:

- **Is this keyframe's screen the one before's?** Two sure detections decide it. Otherwise a
  keyframe whose spec regions did not move is the same screen; one that moved is compared with
  its neighbour by the screens whose words it shows (`Keyframe.words`); a keyframe whose words
  could not be read either counts as a change (decoding too much costs time, too little costs
  events). Words are read only where the answer saves decoding a whole gap (`worth_reading`).
- **Where did something appear between two keyframes?** H.264 spends almost nothing on a still
  screen or a slowly moving scene, and a large share of a keyframe's bits on a frame that shows
  new content: a cut to another screen, a notification drawn over the scene (the spec shows one
  2-4 s, so with keyframes 8 s apart most fall between two). Such frames are *bursts*
  (`Activity.bursts`). The full pass decodes a short span at each burst of a gap that changed
  screens or lies inside a raid; a gap with more bursts than `max_bursts` (a restless scene, where
  the cue says nothing) is decoded whole, as is every such gap when packet sizes are unknown.
  A gap from the raid to a keyframe that names nothing is decoded whole too: a cut to black or a
  frozen picture costs no bits, and the raid ends where it was last seen (`raid_may_end_unseen`).
- **Is there a kill list to fall back on?** A notification drawn over a busy scene can cost fewer bits
  than the scene's own motion, and no threshold tells the two apart. The raid's kill list adds such a
  kill back, inferred; a raid ended with no list shown after it has nothing to add it back, so its
  gaps are decoded whole (`raids_without_list`).
"""
from __future__ import annotations

import bisect
from collections.abc import Sequence
from dataclasses import dataclass

from detection.pipeline.profile import GameProfile


@dataclass(frozen=True)
class Keyframe:
    """What the proposal pass saw at one keyframe.

    `screen`: the detector's best screen (None: none); `sure`: it scored at least the profile's
    `proposal_screen`. `moved`: the spec regions differ from the last keyframe that differed
    (True when not compared). `words`: the screens whose words the keyframe shows, None when not read.
    """

    time: float
    screen: str | None
    overlay: bool
    sure: bool = True
    moved: bool = True
    words: frozenset[str] | None = None


@dataclass(frozen=True)
class Span:
    start: float
    end: float


@dataclass(frozen=True)
class Packet:
    """One compressed frame as demuxed: presentation time, bytes, keyframe or not."""

    time: float
    size: int
    key: bool


@dataclass(frozen=True)
class SpanRules:
    """`settle`: seconds decoded past a burst or a changed keyframe (confirmation, words and fields
    need a second or two of frames). `margin`: seconds before a burst. `longest_overlay` (the spec:
    at most 4 s) bounds how far before a keyframe an overlay it shows appeared; with keyframes
    further apart than `shortest_overlay` (2 s) one can fall between two. `burst_excess`: see
    `Activity`; a gap with more than `max_bursts` is decoded whole. `glance`: seconds decoded at each
    keyframe that may show the raid, so the run sees the raid go on where nothing else was decoded:
    a raid whose end screens are lost ends, inferred, where its screen was last seen, not at the
    last burst before (15 s early on a blanked held-out render)."""

    settle: float = 1.5
    glance: float = 0.2
    margin: float = 0.3
    shortest_overlay: float = 2.0
    longest_overlay: float = 4.0
    burst_excess: float = 0.08
    max_bursts: int = 5


class Activity:
    """Packet sizes of a whole video, to find bursts between keyframes without decoding anything.

    A burst carries, beyond the larger of its neighbours (`reach` frames either side, the largest
    left out), at least `burst_excess` of a keyframe's bytes: new content in one frame. A moving
    scene costs about as much in every frame, so it makes none (measured on three held-out renders:
    kill notifications 0.084-0.36 of a keyframe; frames of a moving raid scene mostly below 0.05,
    frames that a re-encode's source GOPs left sharper up to 0.17). The keyframe is the cheaper of
    the two around the frame: a detailed menu's keyframe can cost seven times a dark raid scene's,
    and with keyframes at a fixed interval (no keyframe at the cut) the cut into the raid then
    measured 0.064 of the menu's keyframe, 0.42 of the raid's. A keyframe under a tenth of the
    median one (a black or blank picture, 430 bytes where the median was 41 kB) measures no scene
    and is passed over while the other one around the frame measures it."""

    def __init__(self, packets: Sequence[Packet], *, reach: int = 7) -> None:
        ordered = sorted(packets, key=lambda p: p.time)
        self.times = [p.time for p in ordered]
        self.excess: list[float] = []
        keys = [i for i, p in enumerate(ordered) if p.key]
        sizes = sorted(ordered[k].size for k in keys)
        blank = sizes[len(sizes) // 2] / 10 if sizes else 0
        for i, packet in enumerate(ordered):
            if packet.key:
                self.excess.append(0.0)
                continue
            around = bisect.bisect_right(keys, i)
            either = [ordered[k].size for k in keys[max(0, around - 1) : around + 1]]
            key_size = min([size for size in either if size >= blank] or either or [0])
            near = sorted(p.size for p in ordered[max(0, i - reach) : i + reach + 1] if p is not packet and not p.key)
            baseline = near[-2] if len(near) > 1 else (near[0] if near else 0)
            self.excess.append((packet.size - baseline) / key_size if key_size else 0.0)

    def bursts(self, start: float, end: float, *, excess: float) -> list[float]:
        """Times of the burst frames strictly between `start` and `end`."""
        low = bisect.bisect_right(self.times, start + 1e-6)
        high = bisect.bisect_left(self.times, end - 1e-6)
        return [self.times[i] for i in range(low, high) if self.excess[i] >= excess]


def same_screen(before: Keyframe, after: Keyframe) -> bool:
    """Whether `after` shows the screen `before` showed (see the module's docstring)."""
    if _told_by_detector(before, after):
        return before.screen == after.screen
    if not after.moved:
        return True
    if before.words is not None and after.words is not None and (before.words or after.words):
        return before.words == after.words
    return False


def needs_words(before: Keyframe, after: Keyframe) -> bool:
    """Only the words of both can tell whether `after` shows `before`'s screen."""
    return not _told_by_detector(before, after) and after.moved and (before.words is None or after.words is None)


def worth_reading(before: Keyframe, after: Keyframe, activity: Activity | None, rules: SpanRules) -> bool:
    """Words are read only where they decide and a change would decode the whole gap: a gap whose
    bursts are few costs a short span each, less than reading two keyframes' words."""
    return needs_words(before, after) and trusted_bursts(before.time, after.time, activity, rules) is None


def trusted_bursts(start: float, end: float, activity: Activity | None, rules: SpanRules) -> list[float] | None:
    """The bursts between `start` and `end` where the cue can be trusted; None where it says nothing:
    packet sizes unknown, or a restless gap with more than `max_bursts`."""
    bursts = None if activity is None else activity.bursts(start, end, excess=rules.burst_excess)
    return None if bursts is None or len(bursts) > rules.max_bursts else bursts


def _told_by_detector(before: Keyframe, after: Keyframe) -> bool:
    """Only two sure detections settle it. An unsure one that names its sure neighbour's screen
    does not: on a look the model never saw, a post-raid summary scored 0.40 as the stash that
    followed it, and the change between them went undecoded."""
    return before.sure and after.sure


def _named_screens(key: Keyframe) -> set[str]:
    return set(key.words or ()) | ({key.screen} if key.screen else set())


def _surely_named_screens(key: Keyframe) -> set[str]:
    """The screens the words or a sure detection name: an unsure detection may name any screen."""
    return set(key.words or ()) | ({key.screen} if key.screen and key.sure else set())


def _shows_raid(screens: set[str], profile: GameProfile) -> bool:
    return any(profile.screens.get(screen) == profile.raid_active_state for screen in screens)


def raid_may_end_unseen(before: Keyframe, after: Keyframe, profile: GameProfile) -> bool:
    """`before` shows the raid and `after` nothing anyone could name: a cut to black, a frozen
    picture or a "be right back" scene hid the raid's end somewhere between them, with no burst to
    find it by. Decoding the gap whole sees the raid until its last frame (a glance at `before`
    alone ended it up to a keyframe gap early)."""
    return _shows_raid(_named_screens(before), profile) and not _named_screens(after)


def maybe_in_raid(key: Keyframe, profile: GameProfile) -> bool:
    """The keyframe shows the raid, or nothing the words or a sure detection name (a raid scene in
    a look the model never saw must still have its gaps searched for notifications). An unsure
    detection names nothing here: on a held-out look a model called five queue screens in a row an
    unsure map select, and with no glance at them the run never saw the raid begin."""
    screens = _surely_named_screens(key)
    return not screens or _shows_raid(screens, profile)


def spans_from(
    keyframes: Sequence[Keyframe], *, profile: GameProfile, duration: float, activity: Activity | None,
    rules: SpanRules = SpanRules(),
) -> list[Span]:
    if not keyframes:
        return [Span(0.0, duration)]
    times = [k.time for k in keyframes] + [duration]
    gaps = sorted(b - a for a, b in zip(times, times[1:]))
    sparse = bool(gaps) and gaps[len(gaps) // 2] > rules.shortest_overlay
    raw = [Span(0.0, keyframes[0].time + rules.settle)]
    pairs = list(zip(keyframes, keyframes[1:]))
    for before, after in pairs:
        changed = not same_screen(before, after)
        if changed:
            raw.append(Span(after.time, after.time + rules.settle))
        if after.overlay:
            # It appeared at most `longest_overlay` before, and after the keyframe before.
            raw.append(Span(max(before.time, after.time - rules.longest_overlay), after.time + rules.settle))
        if raid_may_end_unseen(before, after, profile):
            raw.append(Span(before.time, after.time + rules.settle))
        elif changed or (sparse and (maybe_in_raid(before, profile) or maybe_in_raid(after, profile))):
            raw += _around_bursts(before.time, after.time, activity, rules)
    last = keyframes[-1]
    if sparse and maybe_in_raid(last, profile):
        raw += _around_bursts(last.time, duration, activity, rules)
    if sparse and rules.glance > 0:
        raw += [Span(key.time, key.time + rules.glance) for key in keyframes if maybe_in_raid(key, profile)]
    if sparse:
        raw += [Span(start, end + rules.settle) for start, end in raids_without_list(keyframes, profile)]
    return [Span(max(0.0, s.start), min(s.end, duration)) for s in merge(raw) if s.start < duration]


def raids_without_list(keyframes: Sequence[Keyframe], profile: GameProfile) -> list[tuple[float, float]]:
    """From the keyframe before each raid's first to the keyframe after its last, for each raid whose kill
    list no keyframe showed before one showed a screen that comes after the list (the stash, the menus, the
    next raid): a cut, a "be right back" scene or a skipped screen hid the list, and with it the only way
    back for a notification its bursts did not show (on a blanked held-out render, a kill at 0.067 of a
    keyframe). A video that ends in the raid or before its list lists nothing yet: not searched further."""
    return [(keyframes[max(0, first - 1)].time, keyframes[last + 1].time)
            for first, last, _ in _unlisted_raids(keyframes, profile)]


def list_candidates(keyframes: Sequence[Keyframe], profile: GameProfile) -> list[int]:
    """The keyframes whose words could show that a raid `raids_without_list` names was listed after all:
    those between its last keyframe and the screen past its list that no sure detection or words name (on
    the training look the model called a summary an unsure end screen), and that moved: one that did not
    shows the screen of the one before."""
    return [i for _, last, past in _unlisted_raids(keyframes, profile) for i in range(last + 1, past)
            if keyframes[i].words is None and not keyframes[i].sure and keyframes[i].moved]


def _unlisted_raids(keyframes: Sequence[Keyframe], profile: GameProfile) -> list[tuple[int, int, int]]:
    """(first, last, past): a raid's first and last keyframes and the first keyframe past its list, for each
    raid followed by such a keyframe and then by no list before the next raid or the end (a list after it
    outweighs it: on a held-out look the model was sure a survived screen was a queue). Only sure
    detections and read words name screens here (an unsure one may call any screen a list), but an unsure
    one that calls the raid's screen lets a raid go on."""
    kill_list = profile.kill_list
    if kill_list is None:
        return []
    raid = profile.raid_active_state
    list_state = profile.screens[kill_list.screen]
    before_list = {raid, list_state, *profile.transitions.get(raid, ())}
    found: list[tuple[int, int, int]] = []
    first: int | None = None  # the current raid's first and last keyframes, and the first past its list
    last = 0
    past: int | None = None
    for i, key in enumerate(keyframes):
        states = {profile.screens[screen] for screen in _surely_named_screens(key) if screen in profile.screens}
        if first is not None and list_state in states:
            first = past = None
        if raid in states and past is not None:
            assert first is not None
            found.append((first, last, past))
            first = past = None
        if raid in states:
            first = i if first is None else first
        if first is not None and past is None and (raid in states or profile.screens.get(key.screen or "") == raid):
            last = i  # a raid goes on where an unsure detection still calls it so
        if first is not None and past is None and states - before_list:
            past = i
    if first is not None and past is not None:
        found.append((first, last, past))
    return found


def news_from(keyframes: Sequence[Keyframe], *, duration: float, activity: Activity | None,
              rules: SpanRules = SpanRules()) -> list[float]:
    """Times at which the encoder says new content appeared, where its word can be trusted: the bursts
    of each gap between keyframes (and after the last) with at most `max_bursts` of them. A restless
    gap's bursts say nothing, as they do for the spans."""
    times = [k.time for k in keyframes] + [duration]
    return [t for start, end in zip(times, times[1:]) for t in trusted_bursts(start, end, activity, rules) or ()]


def _around_bursts(start: float, end: float, activity: Activity | None, rules: SpanRules) -> list[Span]:
    bursts = trusted_bursts(start, end, activity, rules)
    if bursts is None:
        return [Span(start, end + rules.settle)]
    return [Span(t - rules.margin, t + rules.settle) for t in bursts]


def merge(spans: Sequence[Span]) -> list[Span]:
    merged: list[Span] = []
    for span in sorted(spans, key=lambda s: s.start):
        if merged and span.start <= merged[-1].end + 1e-6:
            last = merged[-1]
            merged[-1] = Span(last.start, max(last.end, span.end))
        else:
            merged.append(span)
    return merged
