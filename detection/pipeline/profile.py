"""A game profile is data: classes, regions, vocabularies, states, transitions, thresholds, OCR fields.

A second game is a new YAML file and a new model, not new code.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from detection.pipeline.schema import EventSpec, SchemaError, events_from_dict
from detection.pipeline.types import Box

PROFILES_DIR = Path(__file__).resolve().parent.parent / "profiles"


class ProfileError(ValueError):
    """The profile file is incomplete or inconsistent; the message names the key."""


@dataclass(frozen=True)
class Thresholds:
    confidence: float = 0.35
    iou: float = 0.5
    confirmations: int = 3
    overlay_gap: int = 2
    gate_change: float = 0.01
    gate_pixel: int = 20
    # Below this mean confidence a confirmed screen must show its words (keywords) to count.
    text_required_below: float = 0.5
    probe_seconds: float = 1.0
    overlay_repeat_seconds: float = 1.5  # the same overlay event again within this is one notification
    probe_confidence: float = 0.5  # what a probe's find counts as next to the detector's boxes
    # An overlay dropped for want of its words while the detector was less sure of it than this starts
    # over where the detector becomes this sure (the blur of a scene the notification then slid into).
    overlay_sure: float = 0.5
    # The two-pass keyframe pass has none of the single pass's text checks: an overlay counts there
    # from this confidence only (weak boxes over a busy scene are mostly noise).
    proposal_overlay: float = 0.4
    # A keyframe screen below this is unsure: the span of a change runs on to a sure keyframe.
    proposal_screen: float = 0.5
    # A refused screen that leads back into the current state re-synchronises the machine only when
    # that state's own screen had been gone this long (a whole raid's end and menus went unseen).
    resync_gap_seconds: float = 10.0
    # A refused screen still showing this long after it appeared is believed: the machine follows it
    # however many screens it missed on the way (a raid whose queue, match and loading went unseen).
    resync_hold_seconds: float = 5.0
    # A screen the detector scores under this may be noise over another screen: held, it is believed only
    # once its words were read; it does not displace a probe's find.
    weak_screen: float = 0.25
    # A screen the detector scores this high is sure: probes that wait for what follows it do not read.
    sure_screen: float = 0.5


@dataclass(frozen=True)
class Probe:
    """In `state`, unless one of `unless_seen` was detected, read `region` for the keywords of `classes`; with a
    `vocabulary`, a word of it in the region also names the (first) class: the map select's own words may
    sit anywhere, while its map name is where the spec puts the key element. With `min_line_aspect`, the
    words are recognised only when the text detector finds a line at least that many times as wide as it
    is tall (`TextReader.read_if_line`): a region that mostly shows the moving scene costs the detector alone.
    With `unless_sure`, it is not read while the detector is sure of one of those classes."""

    state: str
    region: str
    classes: tuple[str, ...]
    unless_seen: tuple[str, ...] = ()
    vocabulary: str = ""
    min_line_aspect: float = 0.0
    # Nor while the detector is sure (`sure_screen`) of one of these: a probe for what follows a screen.
    unless_sure: tuple[str, ...] = ()


@dataclass(frozen=True)
class OcrSettings:
    max_side: int = 320
    min_score: float = 0.5
    fuzzy_cutoff: int = 70
    fields: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)


@dataclass(frozen=True)
class KillList:
    """A screen after the raid that lists the raid's overlay events one a row, below its `header`: each row
    shows what `overlay`'s box shows (its OCR fields). A listed event the raid did not make is added, inferred."""

    screen: str
    header: str
    overlay: str


@dataclass(frozen=True)
class GameProfile:
    name: str
    classes: tuple[str, ...]
    regions: dict[str, Box]
    vocabularies: dict[str, Any]
    screens: dict[str, str]
    overlays: dict[str, str]
    initial_state: str
    transitions: dict[str, tuple[str, ...]]
    raid_start_from: str
    raid_active_state: str
    outcomes: dict[str, str]
    raid_start_fields: tuple[str, ...] = ()
    raid_reset_on: tuple[str, ...] = ()
    max_skipped_states: int = 0
    max_skipped_states_proven: int = 0
    probes: tuple[Probe, ...] = ()
    thresholds: Thresholds = Thresholds()
    ocr: OcrSettings = OcrSettings()
    keywords: dict[str, tuple[str, ...]] = field(default_factory=dict)
    verify: tuple[str, ...] = ()
    events: dict[str, EventSpec] = field(default_factory=dict)
    transition_event: str = "state_transition"
    raid_start_event: str = "raid_start"
    raid_end_event: str = "raid_end"
    kill_list: KillList | None = None

    @property
    def event_types(self) -> tuple[str, ...]:
        return tuple(self.events)

    def event(self, event_type: str) -> EventSpec:
        if event_type not in self.events:
            raise ProfileError(f"profile {self.name!r} declares no event type {event_type!r}")
        return self.events[event_type]

    @property
    def states(self) -> tuple[str, ...]:
        return tuple(self.transitions)

    @property
    def maps(self) -> dict[str, list[str]]:
        return dict(self.vocabularies.get("maps") or {})

    def vocabulary(self, name: str, *, map_name: str | None = None) -> list[str]:
        """Words to match OCR against; `extracts` lists the chosen map's extracts first."""
        if name == "maps":
            return list(self.maps)
        if name == "extracts":
            maps = self.maps
            first = [e for m, extracts in maps.items() if _norm(m) == _norm(map_name or "") for e in extracts]
            return first + [e for extracts in maps.values() for e in extracts if e not in first]
        return list(self.vocabularies.get(name) or [])

    def region(self, name: str) -> Box:
        if name not in self.regions:
            raise ProfileError(f"profile {self.name!r} has no region {name!r}")
        return self.regions[name]


def _norm(text: str) -> str:
    return text.strip().lower().replace(" ", "_")


def profile_path(name_or_path: str | Path) -> Path:
    """A bundled profile's name (`demo`) or a profile file's path; ProfileError when there is no such file."""
    path = Path(name_or_path)
    if not path.suffix:
        path = PROFILES_DIR / f"{name_or_path}.yaml"
    if not path.exists():
        raise ProfileError(f"no game profile at {path}")
    return path


def load_profile(name_or_path: str | Path = "demo") -> GameProfile:
    path = profile_path(name_or_path)
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(raw, dict):
        raise ProfileError(f"{path}: expected a mapping")
    return profile_from_dict(raw, where=str(path))


def profile_from_dict(raw: dict[str, Any], *, where: str = "profile") -> GameProfile:
    def need(key: str) -> Any:
        if key not in raw:
            raise ProfileError(f"{where}: missing {key!r}")
        return raw[key]

    classes = tuple(str(c) for c in need("classes"))
    screens = {str(k): str(v) for k, v in need("screens").items()}
    overlays = {str(k): str(v) for k, v in (raw.get("overlays") or {}).items()}
    transitions = {str(k): tuple(str(s) for s in v or ()) for k, v in need("transitions").items()}
    unknown = sorted(c for c in {*screens, *overlays} if c not in classes)
    if unknown:
        raise ProfileError(f"{where}: screens/overlays name classes not in `classes`: {unknown}")
    states = set(transitions)
    used = {s for targets in transitions.values() for s in targets} | set(screens.values())
    bad_states = sorted(used - states)
    if bad_states:
        raise ProfileError(f"{where}: states used but not listed in `transitions`: {bad_states}")
    raid = raw.get("raid") or {}
    ocr_raw = raw.get("ocr") or {}
    outcomes = {str(k): str(v) for k, v in (raid.get("outcomes") or {}).items()}
    try:
        events = events_from_dict(
            need("events"),
            vocabularies=raw.get("vocabularies") or {},
            states=tuple(transitions),
            outcomes=tuple(outcomes.values()),
            where=where,
        )
    except SchemaError as exc:
        raise ProfileError(str(exc)) from exc
    emitted = {
        "transition_event": str(raid.get("transition_event", "state_transition")),
        "raid_start_event": str(raid.get("start_event", "raid_start")),
        "raid_end_event": str(raid.get("end_event", "raid_end")),
    }
    undeclared = sorted({*emitted.values(), *overlays.values()} - set(events))
    if undeclared:
        raise ProfileError(f"{where}: event types emitted but not declared under `events`: {undeclared}")
    kill_list = _kill_list(raid.get("kill_list"), screens=screens, overlays=overlays, where=where)
    return GameProfile(
        name=str(raw.get("name") or "profile"),
        classes=classes,
        regions={str(k): Box(*(float(x) for x in v)) for k, v in (raw.get("regions") or {}).items()},
        vocabularies=dict(raw.get("vocabularies") or {}),
        screens=screens,
        overlays=overlays,
        initial_state=str(raw.get("initial_state") or "idle"),
        transitions=transitions,
        raid_start_from=str(raid.get("start_from", "")),
        raid_active_state=str(raid.get("active_state", "")),
        outcomes=outcomes,
        raid_start_fields=tuple(str(f) for f in raid.get("start_fields") or ()),
        raid_reset_on=tuple(str(s) for s in raid.get("reset_on") or ()),
        max_skipped_states=int(raw.get("max_skipped_states", 0)),
        max_skipped_states_proven=int(raw.get("max_skipped_states_proven", raw.get("max_skipped_states", 0))),
        probes=tuple(
            Probe(
                state=str(p["state"]),
                region=str(p["region"]),
                classes=tuple(str(c) for c in p["classes"]),
                unless_seen=_names(p.get("unless_seen")),
                vocabulary=str(p.get("vocabulary") or ""),
                min_line_aspect=float(p.get("min_line_aspect") or 0.0),
                unless_sure=_names(p.get("unless_sure")),
            )
            for p in raw.get("probes") or ()
        ),
        thresholds=Thresholds(**(raw.get("thresholds") or {})),
        keywords={str(k): tuple(str(w) for w in v) for k, v in (raw.get("keywords") or {}).items()},
        verify=tuple(str(c) for c in raw.get("verify_by_text") or ()),
        ocr=OcrSettings(
            max_side=int(ocr_raw.get("max_side", 320)),
            min_score=float(ocr_raw.get("min_score", 0.5)),
            fuzzy_cutoff=int(ocr_raw.get("fuzzy_cutoff", 70)),
            fields=dict(ocr_raw.get("fields") or {}),
        ),
        events=events,
        kill_list=kill_list,
        **emitted,
    )


def _kill_list(raw: Any, *, screens: dict[str, str], overlays: dict[str, str], where: str) -> KillList | None:
    if not raw:
        return None
    if not isinstance(raw, dict) or not {"screen", "header", "overlay"} <= set(raw):
        raise ProfileError(f"{where}: raid.kill_list needs `screen`, `header` and `overlay`")
    kill_list = KillList(screen=str(raw["screen"]), header=str(raw["header"]), overlay=str(raw["overlay"]))
    if kill_list.screen not in screens or kill_list.overlay not in overlays:
        raise ProfileError(f"{where}: raid.kill_list names a screen ({kill_list.screen!r}) or overlay "
                           f"({kill_list.overlay!r}) the profile does not declare")
    return kill_list


def _names(value: Any) -> tuple[str, ...]:
    """One class name or a list of them."""
    if not value:
        return ()
    return (str(value),) if isinstance(value, str) else tuple(str(v) for v in value)
