"""The game's state machine: allowed transitions come from the profile; impossible ones are rejected.

It turns confirmed screens and overlays into events: `state_transition` on every change,
`raid_start` (with what pre-raid showed) on entering the raid, `raid_end` on its terminal
screen, one overlay event (`kill`) per confirmed notification while the raid is active.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field, replace
from typing import Any

from detection.pipeline.profile import GameProfile
from detection.pipeline.temporal import Confirmed
from detection.pipeline.types import WHOLE_FRAME, Detection, Rejection


@dataclass(frozen=True)
class Draft:
    """An event before its data fields are read to the end (OCR may need a few more frames)."""

    type: str
    confirmed: Confirmed
    data: dict[str, Any]
    # Implied by the screens around it, not seen (a raid end whose terminal screen was missed).
    inferred: bool = False
    # Tells apart events drafted at one frame (the kills a raid's kill list adds); part of the event's id.
    tag: str = ""
    # Kept in the event's evidence: what an inferred event was inferred from.
    evidence: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Stray:
    """A screen the machine refused: the state it shows, what was read on it, where it appeared."""

    state: str
    data: dict[str, Any]
    label: str = ""
    first_time: float = 0.0
    first_frame: int = 0
    # When the machine's own state's screen had last shown as this one appeared.
    state_seen: tuple[float, int] | None = None
    # Its own words were read (`on_screen`'s `proven`).
    proven: bool = False

    def confirmed(self, like: Confirmed) -> Confirmed:
        """The refused screen as a confirmed one, for the events of the way through it."""
        return replace(like, label=self.label or like.label, first_time=self.first_time, first_frame=self.first_frame)

    def to_json(self) -> dict[str, Any]:
        return {"state": self.state, "data": dict(self.data), "label": self.label, "first_time": self.first_time,
                "first_frame": self.first_frame, "state_seen": list(self.state_seen) if self.state_seen else None,
                "proven": self.proven}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> Stray:
        seen = raw.get("state_seen")
        return cls(str(raw["state"]), dict(raw["data"]), str(raw.get("label", "")), float(raw.get("first_time", 0.0)),
                   int(raw.get("first_frame", 0)), (float(seen[0]), int(seen[1])) if seen else None,
                   bool(raw.get("proven", False)))


def _agrees(made: dict[str, Any], row: dict[str, Any], *, named_only: bool) -> bool:
    return all(row.get(k) == v for k, v in made.items() if v is not None and not (named_only and isinstance(v, bool)))


@dataclass
class RaidTally:
    """A raid's span (`ended` None while it goes on), the overlay events it made, whether its list was read."""

    started: float
    ended: float | None = None
    made: list[dict[str, Any]] = field(default_factory=list)
    listed: bool = False
    # Overlays of the raid dropped for want of their words that read something (HEADSHOT alone): where a kill the
    # list shows may have been seen. Each: video time, frame, what was read.
    unread: list[tuple[float, int, dict[str, Any]]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        return {"started": self.started, "ended": self.ended, "made": [dict(d) for d in self.made],
                "listed": self.listed, "unread": [[t, f, dict(d)] for t, f, d in self.unread]}

    @classmethod
    def from_json(cls, raw: dict[str, Any]) -> RaidTally:
        ended = raw.get("ended")
        return cls(float(raw["started"]), None if ended is None else float(ended),
                   [dict(d) for d in raw.get("made") or ()], bool(raw.get("listed", False)),
                   [(float(t), int(f), dict(d)) for t, f, d in raw.get("unread") or ()])


@dataclass(frozen=True)
class Step:
    drafts: list[Draft] = field(default_factory=list)
    rejection: Rejection | None = None


class StateMachine(ABC):
    state: str

    @abstractmethod
    def on_screen(self, confirmed: Confirmed, data: dict[str, Any], *, proven: bool = False) -> Step: ...

    @abstractmethod
    def on_overlay(self, confirmed: Confirmed) -> Step: ...

    @abstractmethod
    def snapshot(self) -> dict[str, Any]: ...


class GameStateMachine(StateMachine):
    def __init__(self, profile: GameProfile, *, snapshot: dict[str, Any] | None = None) -> None:
        self.profile = profile
        self.state = str((snapshot or {}).get("state") or profile.initial_state)
        # What pre-raid showed (map, character, mode); carried into raid_start.
        self.context: dict[str, Any] = dict((snapshot or {}).get("context") or {})
        # The last screen refused since one that fits the state (its state and its readings): the
        # machine, not the game, may be wrong, and the next screen tells (see `on_screen`).
        stray = (snapshot or {}).get("stray")
        self.stray: Stray | None = Stray.from_json(stray) if stray else None
        # When a screen of the current state last showed (video seconds, frame): a raid whose end
        # screen went unseen ended about then.
        seen = (snapshot or {}).get("last_seen")
        self.last_seen: tuple[float, int] | None = (float(seen[0]), int(seen[1])) if seen else None
        # The last raid: when it started and ended (video seconds; None while it goes on), the overlay events
        # (kills) it made, and whether its kill list was read. None before any raid.
        raid = (snapshot or {}).get("raid")
        self.raid: RaidTally | None = RaidTally.from_json(raid) if raid else None

    def snapshot(self) -> dict[str, Any]:
        stray = self.stray.to_json() if self.stray else None
        seen = list(self.last_seen) if self.last_seen else None
        raid = self.raid.to_json() if self.raid else None
        return {"state": self.state, "context": dict(self.context), "stray": stray, "last_seen": seen, "raid": raid}

    def seen(self, screen: str, *, video_time: float, frame_number: int) -> None:
        """A frame showed `screen` (before any filter): noted when it is a screen of the current state."""
        if self.profile.screens.get(screen) == self.state:
            self.last_seen = (video_time, frame_number)

    def remember(self, data: dict[str, Any]) -> None:
        """Pre-raid readings that arrive after their screen was confirmed."""
        self.context.update({k: v for k, v in data.items() if v not in (None, "")})

    def _reject(self, confirmed: Confirmed, observed: str, reason: str) -> Step:
        return Step(
            rejection=Rejection(
                key=f"{observed}-{confirmed.first_frame}",
                from_state=self.state,
                observed_screen=observed,
                video_time=confirmed.first_time,
                frame_number=confirmed.first_frame,
                confidence=confirmed.confidence,
                reason=reason,
            )
        )

    def on_screen(self, confirmed: Confirmed, data: dict[str, Any], *, proven: bool = False) -> Step:
        """`proven`: the screen's own words were read in its box, so a longer jump (a missed end of
        raid) is believed; an unproven screen may skip only `max_skipped_states`.

        One missed screen must not cost a raid: when a refused screen is followed by one it may
        lead to (two screens agreeing with each other, none with the state), the machine was lost,
        not the game. It follows them: from the old state into the refused screen's, at its time,
        then on. That holds even when the way leads back to the state the machine is in, if that
        state's own screen had been gone a while before the refused one appeared (a raid whose end
        and the next raid's menus went unseen but for its match-found screen)."""
        target = self.profile.screens[confirmed.label]
        stray = self.stray
        back = target == self.state and self._gone_before(stray)
        through = self._through(stray, target, back=back) if stray is not None else None
        if target == self.state and not (through and back):
            self.stray = None
            self.remember(data)
            return Step()
        skips = self.profile.max_skipped_states_proven if proven else self.profile.max_skipped_states
        path = self._path(self.state, target, skips) if target != self.state else None
        if path is not None:
            return Step(drafts=self._enter(path, confirmed, data))
        if stray is not None and through is not None:
            before, onward = through
            # The old state ended when its screen last showed before the refused one came.
            self.last_seen = stray.state_seen
            drafts = self._enter(before, stray.confirmed(confirmed), stray.data)
            if len(onward) > 1:
                drafts += self._enter(onward, confirmed, data)
            else:
                self.remember(data)
            return Step(drafts=drafts)
        self.stray = Stray(target, {k: v for k, v in data.items() if v not in (None, "")}, confirmed.label,
                           confirmed.first_time, confirmed.first_frame, self.last_seen, proven)
        return self._reject(confirmed, confirmed.label, f"{self.state} → {target} is not an allowed transition")

    def _enter(self, path: list[str], confirmed: Confirmed, data: dict[str, Any]) -> list[Draft]:
        """Drafts of going along `path` (allowed steps) to its end, seen at `confirmed`."""
        previous, target = path[0], path[-1]
        self.state, self.stray, last_seen = target, None, self.last_seen
        self.last_seen = (confirmed.first_time, confirmed.first_frame)
        drafts = [Draft(self.profile.transition_event, confirmed, {"from_state": previous, "to_state": target})]
        if any(state in self.profile.raid_reset_on for state in path[1:]):
            self.context = {}
        active = self.profile.raid_active_state
        if previous == active and target in self.profile.outcomes:
            drafts.append(Draft(self.profile.raid_end_event, confirmed, {"outcome": self.profile.outcomes[target]}))
            self._raid_ended(confirmed.first_time)
            return drafts
        if previous == active:
            # The raid's end screen went unseen: the raid still ended, when its own screen was last
            # shown; how it ended is for review to say.
            ended = confirmed if last_seen is None else replace(confirmed, first_time=last_seen[0], first_frame=last_seen[1])
            drafts.append(Draft(self.profile.raid_end_event, ended, {"outcome": None}, inferred=True))
            self._raid_ended(ended.first_time)
        if (self.profile.raid_start_from, active) in zip(path, path[1:]):
            raid = {key: self.context.get(key) for key in self.profile.raid_start_fields}
            drafts.append(Draft(self.profile.raid_start_event, confirmed, raid))
            self.raid = RaidTally(started=confirmed.first_time)
        else:
            self.remember(data)
        return drafts

    def _raid_ended(self, video_time: float) -> None:
        if self.raid is not None and self.raid.ended is None:
            self.raid.ended = video_time

    def counted(self, data: dict[str, Any]) -> None:
        """An overlay event (a kill) was made: the raid it was drafted in made it."""
        if self.raid is not None:
            self.raid.made.append(dict(data))

    def kill_list_due(self) -> bool:
        """A raid ended and its kill list has not been read."""
        return self.raid is not None and self.raid.ended is not None and not self.raid.listed

    def unread(self, confirmed: Confirmed, data: dict[str, Any]) -> None:
        """An overlay of the ongoing raid was dropped for want of its words; kept when it read a field (a
        scene's blur taken for a notification reads nothing)."""
        if self.raid is not None and self.raid.ended is None and any(v not in (None, "", False) for v in data.values()):
            self.raid.unread.append((confirmed.first_time, confirmed.first_frame, dict(data)))

    def made_in_raid(self) -> int:
        """How many overlay events (kills) the last raid made."""
        return len(self.raid.made) if self.raid is not None else 0

    def unlisted(self, confirmed: Confirmed, rows: list[dict[str, Any]]) -> list[Draft]:
        """The kills a raid's kill list shows that the raid did not make, as inferred drafts at the list's
        screen (`confirmed`), or where a notification of the raid that agrees with one was dropped unread; a list
        is read once a raid, right after the raid ended. A made kill accounts for
        a row that agrees with every field it read; failing any such, for one that agrees with its named fields
        (a notification read in part may have lost its HEADSHOT tag too)."""
        raid, kill_list = self.raid, self.profile.kill_list
        if raid is None or kill_list is None or raid.ended is None or raid.listed:
            return []
        raid.listed = True
        missing, unmatched = list(rows), list(raid.made)
        for named_only in (False, True):
            for made in list(unmatched):
                row = next((row for row in missing if _agrees(made, row, named_only=named_only)), None)
                if row is not None:
                    missing.remove(row)
                    unmatched.remove(made)
        event_type = self.profile.overlays[kill_list.overlay]
        evidence = {"inferred_from": f"{kill_list.screen}: {kill_list.header}",
                    "happened_between": [round(raid.started, 3), round(raid.ended, 3)]}
        unread = list(raid.unread)
        drafts = []
        for i, row in enumerate(missing, start=1):
            # A notification seen but dropped unread that agrees with the row was that kill: it happened then.
            seen = next((u for u in unread if _agrees(u[2], row, named_only=False)), None)
            at = confirmed
            if seen is not None:
                unread.remove(seen)
                at = replace(confirmed, first_time=seen[0], first_frame=seen[1])
            drafts.append(Draft(event_type, at, row, inferred=True, tag=f"listed{i}", evidence=evidence))
        return drafts

    def _through(self, stray: Stray, target: str, *, back: bool = False) -> tuple[list[str], list[str]] | None:
        """The way from the current state into the refused screen's state, and from there on to
        `target`, when the refused screen may lead to `target` (or shows its state); else None.
        `back`: `target` is the current state, whose own screen had been gone a while before the
        refused one came. The game went round to it again unseen, so the way on from the refused
        screen may skip any number of screens (a map select, then the next raid's HUD, with the
        queue, match-found and loading screens between them hidden or missed)."""
        skips = len(self.profile.states) if back else self.profile.max_skipped_states
        onward = [stray.state] if stray.state == target else self._path(stray.state, target, skips)
        if onward is None:
            return None
        before = self._path(self.state, stray.state, len(self.profile.states))
        return None if before is None else (before, onward)

    def _gone_before(self, stray: Stray | None) -> bool:
        """The current state's own screen had not shown for `resync_gap_seconds` when `stray` appeared."""
        if stray is None or stray.state_seen is None:
            return False
        return stray.first_time - stray.state_seen[0] >= self.profile.thresholds.resync_gap_seconds

    def _path(self, start: str, target: str, skips: int) -> list[str] | None:
        """The shortest allowed path, skipping at most `max_skipped_states` screens the detector
        missed (a short queue screen, say); `stash` straight to `survived` stays impossible."""
        frontier = [[start]]
        for _ in range(skips + 1):
            grown = []
            for path in frontier:
                for step in self.profile.transitions.get(path[-1], ()):
                    if step == target:
                        return [*path, step]
                    if step not in path:
                        grown.append([*path, step])
            frontier = grown
        return None

    def on_held(self, detection: Detection, *, frame_number: int, video_time: float) -> Step:
        """The refused screen is still showing: after `resync_hold_seconds` it is believed whatever
        the machine missed on the way, once its words were read or the detector is no longer unsure of it
        (`weak_screen`: weak boxes of one screen over another held as long, a HUD at 0.16-0.21 over a
        held-out character select). It follows it at the time it appeared, the way through marked inferred (a
        raid start whose queue, match and loading screens went unseen)."""
        stray, thresholds = self.stray, self.profile.thresholds
        if stray is None or stray.label != detection.label:
            return Step()
        if video_time - stray.first_time < thresholds.resync_hold_seconds:
            return Step()
        if not stray.proven and detection.confidence < thresholds.weak_screen:
            return Step()
        held = Confirmed(stray.label, stray.first_frame, stray.first_time, frame_number, video_time,
                         detection.confidence, detection)
        return Step(drafts=self._follow(stray, held))

    def on_overlay(self, confirmed: Confirmed) -> Step:
        event_type = self.profile.overlays[confirmed.label]
        if self.state != self.profile.raid_active_state:
            return self._reject(confirmed, confirmed.label, f"{event_type} outside a raid (state {self.state})")
        return Step(drafts=[Draft(event_type, confirmed, {})])

    def over_refused_raid(self, confirmed: Confirmed) -> bool:
        """Whether a notification the machine refused (outside the raid) shows over a raid screen it refused
        before the notification came, in a state the raid may follow with no more screens missed than a
        proven screen may skip (the menus before a raid, not its end screens: a kill cam after a death
        must not start the next raid): the notification's words then decide (`enter_for_overlay`)."""
        stray, active = self.stray, self.profile.raid_active_state
        return (stray is not None and stray.state == active and stray.first_time <= confirmed.first_time
                and self.state != active and self._path(self.state, active, self.profile.max_skipped_states_proven)
                is not None)

    def enter_for_overlay(self, confirmed: Confirmed, screen: Detection | None) -> list[Draft] | None:
        """A notification whose words were read shows over the raid screen the machine refused: the two
        agree, so the machine follows that screen now (inferred, from when it appeared) instead of waiting
        out `resync_hold_seconds`, and the notification is the raid's. The notification alone moves
        nothing: it is confirmed before its words are read, and a false one over a false HUD in the stash
        once started a raid. `screen`: the screen detected now, the evidence of the way in when it is the
        refused one. [] when the machine is in the raid already; None when it may not follow."""
        if self.state == self.profile.raid_active_state:
            return []
        stray = self.stray
        if stray is None or not self.over_refused_raid(confirmed):
            return None
        seen = screen if screen is not None and screen.label == stray.label else \
            Detection(stray.label, confirmed.confidence, WHOLE_FRAME)
        held = Confirmed(stray.label, stray.first_frame, stray.first_time, confirmed.confirm_frame,
                         confirmed.confirm_time, seen.confidence, seen)
        return self._follow(stray, held) or None

    def _follow(self, stray: Stray, confirmed: Confirmed) -> list[Draft]:
        """Into the refused screen's state by the shortest allowed way of any length, inferred."""
        path = self._path(self.state, stray.state, len(self.profile.states))
        if path is None:
            return []
        self.last_seen = stray.state_seen
        return [replace(draft, inferred=True) for draft in self._enter(path, confirmed, stray.data)]
