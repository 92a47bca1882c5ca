"""The session script: what the screen shows when, planned from a seeded RNG.

A session loops stash → character select → map select → queue → match found →
loading → raid (HUD, kill notifications) → survived / killed / MIA → post-raid summary
→ stash. Choices are dealt from shuffled decks, so a long render shows every map,
extract, weapon, enemy type and outcome. Times are seconds from the start of the video;
the truth writer snaps them to the first frame that shows them.
"""
from __future__ import annotations

import bisect
import random
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from .profile import DemoProfile

EPS = 1e-6
T = TypeVar("T")

# Screen → detector class (None: shows no UI, so it is no segment of the truth).
SCREEN_CLASS: dict[str, str | None] = {
    "black": None, "stash": "stash_screen", "character_select": "character_select", "map_select": "map_select",
    "queue": "queue_timer", "match_found": "match_found", "loading": "loading_screen", "raid": "gameplay_hud",
    "survived": "survived_screen", "killed": "death_screen", "mia": "mia_screen", "post_raid": "post_raid_screen",
}
OUTCOME_STATE = {"survived": "survived", "killed": "killed_in_action", "mia": "missing_in_action"}


@dataclass(frozen=True)
class Pacing:
    """Duration ranges in seconds; `raid` is what demo footage wants (1-3 minutes)."""

    stash: tuple[float, float] = (5, 15)
    pre_raid: tuple[float, float] = (2.5, 6)
    queue: tuple[float, float] = (8, 40)
    countdown: tuple[int, int] = (3, 8)
    loading: tuple[float, float] = (5, 12)
    raid: tuple[float, float] = (60, 180)
    kills_per_minute: float = 1.6
    no_kill_share: float = 0.1
    terminal: tuple[float, float] = (4, 8)
    post_raid: tuple[float, float] = (5, 10)
    black: tuple[float, float] = (0.3, 1.2)


DEMO_PACING = Pacing()
# For tests: a whole loop, kills included, in about half a minute.
QUICK_PACING = Pacing(stash=(1.5, 2.5), pre_raid=(1.2, 2), queue=(2, 3.5), countdown=(2, 3), loading=(1.5, 2.5),
                      raid=(12, 16), kills_per_minute=9.0, no_kill_share=0.0, terminal=(1.5, 2.5), post_raid=(1.5, 2.5), black=(0.3, 0.6))


@dataclass(frozen=True)
class Segment:
    start: float
    end: float
    screen: str
    content: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    index: int = 0  # position in the timeline, a cache key for what was painted


@dataclass(frozen=True)
class KillShow:
    start: float
    end: float
    enemy: str
    weapon: str
    headshot: bool


@dataclass(frozen=True)
class HudState:
    start: float
    hp: int
    shield: int
    ammo: int
    capacity: int


@dataclass(frozen=True)
class PlannedEvent:
    type: str
    at: float
    data: dict[str, Any]


@dataclass
class Timeline:
    duration: float
    segments: list[Segment] = field(default_factory=list)
    kills: list[KillShow] = field(default_factory=list)
    hud: list[HudState] = field(default_factory=list)
    events: list[PlannedEvent] = field(default_factory=list)
    blanked: dict[int, str] = field(default_factory=dict)  # segment index → what hides it (blanking.py)
    hidden_kills: set[int] = field(default_factory=set)  # indices into `kills` of notifications never drawn

    def segment_at(self, t: float) -> Segment:
        i = bisect.bisect_right([s.start for s in self.segments], t + EPS) - 1
        return self.segments[max(0, i)]

    def kill_at(self, t: float) -> KillShow | None:
        """The notification on screen at `t`: a kill's, unless it is hidden."""
        i = bisect.bisect_right([k.start for k in self.kills], t + EPS) - 1
        return self.kills[i] if i >= 0 and i not in self.hidden_kills and t + EPS < self.kills[i].end else None

    def hud_at(self, t: float) -> HudState:
        i = bisect.bisect_right([h.start for h in self.hud], t + EPS) - 1
        return self.hud[max(0, i)]


class Deck(Generic[T]):
    """Deals every card once (shuffled) before any repeats: coverage over a long render."""

    def __init__(self, cards: list[T], rng: random.Random) -> None:
        self.cards = list(cards)
        self.rng = rng
        self.pile: list[T] = []

    def deal(self) -> T:
        if not self.pile:
            self.pile = list(self.cards)
            self.rng.shuffle(self.pile)
        return self.pile.pop()


def snake(name: str) -> str:
    return name.lower().replace(" ", "_")


class _Planner:
    def __init__(self, duration: float, profile: DemoProfile, rng: random.Random, pacing: Pacing) -> None:
        self.rng, self.pacing, self.profile = rng, pacing, profile
        self.timeline = Timeline(duration=duration)
        self.t = 0.0
        self.state = "idle"
        self.maps = Deck(list(profile.maps), rng)
        self.extracts = {m: Deck(list(e), rng) for m, e in profile.maps.items()}
        self.weapons = Deck(list(profile.weapons), rng)
        self.enemies = Deck(list(profile.enemy_types), rng)
        self.outcomes = Deck(["survived", "survived", "survived", "killed", "killed", "mia"], rng)
        self.characters = Deck(["PMC", "PMC", "SCAV"], rng)
        self.modes = Deck([True, False], rng)

    def span(self, bounds: tuple[float, float]) -> float:
        return round(self.rng.uniform(*bounds), 3)

    def show(self, screen: str, seconds: float, to_state: str | None = None, **content: Any) -> Segment:
        segment = Segment(round(self.t, 3), round(self.t + seconds, 3), screen, content, len(self.timeline.segments))
        self.timeline.segments.append(segment)
        if to_state and to_state != self.state:
            self.event("state_transition", {"from_state": self.state, "to_state": to_state})
            self.state = to_state
        self.t = segment.end
        return segment

    def event(self, kind: str, data: dict[str, Any], at: float | None = None) -> None:
        self.timeline.events.append(PlannedEvent(kind, round(self.t if at is None else at, 3), data))

    def session(self) -> None:
        p = self.pacing
        self.show("stash", self.span(p.stash), "stash", tab=self.rng.randint(0, 2))
        character = self.characters.deal()
        map_name = self.maps.deal()
        pve = self.modes.deal()
        self.show("character_select", self.span(p.pre_raid), "pre_raid", choice=character)
        self.show("map_select", self.span(p.pre_raid), "pre_raid", map_name=map_name, pve=pve)
        self.show("queue", self.span(p.queue), "queuing", estimate=self.rng.randint(15, 300))
        countdown = self.rng.randint(*p.countdown)
        self.show("match_found", float(countdown), "deploying", countdown=countdown)
        self.show("loading", self.span(p.loading), "deploying")
        self.show("black", self.span(p.black))
        start = self.t
        raid_data = {"map_name": snake(map_name), "character_type": character.lower(), "game_mode": "pve" if pve else "pvp"}
        self.event("state_transition", {"from_state": self.state, "to_state": "raid_active"})
        self.event("raid_start", raid_data)
        self.state = "raid_active"
        length = self.span(p.raid)
        kills = self.plan_kills(start, start + length)
        self.show("raid", length)
        self.show("black", self.span(p.black))
        outcome = self.outcomes.deal()
        content: dict[str, Any] = {}
        end_data: dict[str, Any] = {"outcome": outcome}
        if outcome == "survived":
            extract = self.extracts[map_name].deal()
            content = {"extract": extract, "time_in_raid": length}
            end_data["extract_location"] = extract.lower()
        elif outcome == "killed":
            killer = self.enemies.deal()
            content = {"killed_by": killer}
            end_data["killed_by"] = killer.lower()
        terminal_at = self.t
        self.show(outcome, self.span(p.terminal), OUTCOME_STATE[outcome], **content)
        self.event("raid_end", end_data, at=terminal_at)
        self.show("post_raid", self.span(p.post_raid), "post_raid_review", kills=[(k.enemy, k.weapon, k.headshot) for k in kills])

    def plan_kills(self, start: float, end: float) -> list[KillShow]:
        """Kills at random, sometimes in bursts a few seconds apart; notifications never overlap."""
        kills: list[KillShow] = []
        t = start + self.rng.uniform(2.0, 0.25 * (end - start))
        rate = self.pacing.kills_per_minute / 60
        if self.rng.random() < self.pacing.no_kill_share:
            t = end
        while True:
            if kills:
                t += self.rng.uniform(0.8, 2.0) if self.rng.random() < 0.35 else self.rng.expovariate(rate)
            shown = self.rng.uniform(2.0, 4.0)
            if t + shown > end - 1.0:
                break
            kill = KillShow(round(t, 3), round(t + shown, 3), self.enemies.deal(), self.weapons.deal(), self.rng.random() < 0.3)
            kills.append(kill)
            self.event("kill", {"enemy_type": kill.enemy.lower(), "weapon": kill.weapon, "headshot": kill.headshot}, at=kill.start)
            t = kill.end
        self.timeline.kills.extend(kills)
        self.plan_hud(start, end, kills)
        return kills

    def plan_hud(self, start: float, end: float, kills: list[KillShow]) -> None:
        capacity = self.rng.choice([10, 20, 30, 30, 45, 60])
        hp, shield, ammo = self.rng.randint(70, 100), self.rng.randint(30, 100), capacity
        changes = sorted({round(self.rng.uniform(start, end), 3) for _ in range(int((end - start) / 6))} | {k.start for k in kills})
        self.timeline.hud.append(HudState(start, hp, shield, ammo, capacity))
        for at in changes:
            ammo = capacity if ammo < capacity * 0.3 else max(0, ammo - self.rng.randint(1, 6))
            if self.rng.random() < 0.4:
                hp, shield = max(1, hp - self.rng.randint(1, 25)), max(0, shield - self.rng.randint(0, 30))
            self.timeline.hud.append(HudState(at, hp, shield, ammo, capacity))


def plan_session(duration: float, profile: DemoProfile, rng: random.Random, pacing: Pacing = DEMO_PACING) -> Timeline:
    """Sessions until `duration` is filled; whatever starts after it is cut, as a recording would be."""
    planner = _Planner(duration, profile, rng, pacing)
    planner.show("black", round(rng.uniform(0.5, 2.0), 3))
    while planner.t < duration:
        planner.session()
    timeline = planner.timeline
    timeline.segments = [s for s in timeline.segments if s.start < duration - EPS]
    last = timeline.segments[-1]
    timeline.segments[-1] = Segment(last.start, duration, last.screen, last.content, last.index)
    timeline.kills = [k for k in timeline.kills if k.start < duration - EPS]
    timeline.events = sorted((e for e in timeline.events if e.at < duration - EPS), key=lambda e: e.at)
    return timeline
