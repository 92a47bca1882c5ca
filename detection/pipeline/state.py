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
from detection.pipeline.types import Rejection


@dataclass(frozen=True)
class Draft:
    """An event before its data fields are read to the end (OCR may need a few more frames)."""

    type: str
    confirmed: Confirmed
    data: dict[str, Any]
    # Implied by the screens around it, not seen (a raid end whose terminal screen was missed).
    inferred: bool = False


@dataclass(frozen=True)
class Stray:
    """A screen the machine refused: the state it shows and what was read on it."""

    state: str
    data: dict[str, Any]


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
        self.stray: Stray | None = Stray(str(stray["state"]), dict(stray["data"])) if stray else None
        # When a screen of the current state last showed (video seconds, frame): a raid whose end
        # screen went unseen ended about then.
        seen = (snapshot or {}).get("last_seen")
        self.last_seen: tuple[float, int] | None = (float(seen[0]), int(seen[1])) if seen else None

    def snapshot(self) -> dict[str, Any]:
        stray = {"state": self.stray.state, "data": dict(self.stray.data)} if self.stray else None
        seen = list(self.last_seen) if self.last_seen else None
        return {"state": self.state, "context": dict(self.context), "stray": stray, "last_seen": seen}

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
        not the game. It follows them: the transition runs from the old state to the new screen's,
        through the refused one."""
        target = self.profile.screens[confirmed.label]
        if target == self.state:
            self.stray = None
            self.remember(data)
            return Step()
        skips = self.profile.max_skipped_states_proven if proven else self.profile.max_skipped_states
        path = self._path(self.state, target, skips)
        if path is None and self.stray is not None:
            path = self._resync_path(self.stray, target)
        if path is None:
            self.stray = Stray(target, {k: v for k, v in data.items() if v not in (None, "")})
            return self._reject(confirmed, confirmed.label, f"{self.state} → {target} is not an allowed transition")
        previous, self.state, stray = self.state, target, self.stray
        self.stray, last_seen = None, self.last_seen
        self.last_seen = (confirmed.first_time, confirmed.first_frame)
        drafts = [Draft(self.profile.transition_event, confirmed, {"from_state": previous, "to_state": target})]
        if any(state in self.profile.raid_reset_on for state in path[1:]):
            self.context = {}
        if stray is not None and stray.state in path:
            self.remember(stray.data)
        steps = list(zip(path, path[1:]))
        active = self.profile.raid_active_state
        if (self.profile.raid_start_from, active) in steps:
            raid = {key: self.context.get(key) for key in self.profile.raid_start_fields}
            drafts.append(Draft(self.profile.raid_start_event, confirmed, raid))
        elif previous == active and target in self.profile.outcomes:
            drafts.append(Draft(self.profile.raid_end_event, confirmed, {"outcome": self.profile.outcomes[target]}))
        elif previous == active:
            # The raid's end screen went unseen: the raid still ended, when its own screen was last
            # shown; how it ended is for review to say.
            ended = confirmed if last_seen is None else replace(confirmed, first_time=last_seen[0], first_frame=last_seen[1])
            drafts.append(Draft(self.profile.raid_end_event, ended, {"outcome": None}, inferred=True))
        else:
            self.remember(data)
        return Step(drafts=drafts)

    def _resync_path(self, stray: Stray, target: str) -> list[str] | None:
        """The way from the current state through the refused screen's state to `target`, when the
        refused screen may lead to `target` (or shows the same state); None when they disagree too."""
        onward = [stray.state] if stray.state == target else self._path(stray.state, target, self.profile.max_skipped_states)
        if onward is None:
            return None
        before = self._path(self.state, stray.state, len(self.profile.states))
        return None if before is None else [*before, *onward[1:]]

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

    def on_overlay(self, confirmed: Confirmed) -> Step:
        event_type = self.profile.overlays[confirmed.label]
        if self.state != self.profile.raid_active_state:
            return self._reject(confirmed, confirmed.label, f"{event_type} outside a raid (state {self.state})")
        return Step(drafts=[Draft(event_type, confirmed, {})])
