"""The game's state machine: allowed transitions come from the profile; impossible ones are rejected.

It turns confirmed screens and overlays into events: `state_transition` on every change,
`raid_start` (with what pre-raid showed) on entering the raid, `raid_end` on its terminal
screen, one overlay event (`kill`) per confirmed notification while the raid is active.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
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

    def snapshot(self) -> dict[str, Any]:
        return {"state": self.state, "context": dict(self.context)}

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
        raid) is believed; an unproven screen may skip only `max_skipped_states`."""
        target = self.profile.screens[confirmed.label]
        if target == self.state:
            self.remember(data)
            return Step()
        skips = self.profile.max_skipped_states_proven if proven else self.profile.max_skipped_states
        path = self._path(self.state, target, skips)
        if path is None:
            return self._reject(confirmed, confirmed.label, f"{self.state} → {target} is not an allowed transition")
        previous, self.state = self.state, target
        drafts = [Draft(self.profile.transition_event, confirmed, {"from_state": previous, "to_state": target})]
        if target in self.profile.raid_reset_on:
            self.context = {}
        steps = list(zip(path, path[1:]))
        if (self.profile.raid_start_from, self.profile.raid_active_state) in steps:
            raid = {key: self.context.get(key) for key in self.profile.raid_start_fields}
            drafts.append(Draft(self.profile.raid_start_event, confirmed, raid))
        elif target in self.profile.outcomes and previous == self.profile.raid_active_state:
            drafts.append(Draft(self.profile.raid_end_event, confirmed, {"outcome": self.profile.outcomes[target]}))
        else:
            self.remember(data)
        return Step(drafts=drafts)

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
