"""What a text model is told about each raid: its events and its window labels, as plain, stable JSON.

Raids come from the recording's current, not deleted events in time order: a `raid_start` opens one, the
profile's `raid_end` closes it (its outcome); a start with no end closes at the next start or the end of
the video (outcome unknown), an end with no start opens where the previous raid ended. Kills inside a raid
are listed; window labels (a reviewer's correction wins) give tactic counts and runs and HUD trends. The
labels come from the recording's latest labelling run (prompt version and window spec), not a mix.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any

from detection.models import DetectedEvent, Recording
from detection.pipeline.labels import label_schema_load
from detection.pipeline.profile import load_profile
from labeling.vlm_models import WindowLabel


@dataclass
class Raid:
    index: int
    start: float
    end: float
    start_data: dict[str, Any] = field(default_factory=dict)
    end_data: dict[str, Any] = field(default_factory=dict)
    kills: list[tuple[float, dict[str, Any]]] = field(default_factory=list)
    end_seen: bool = False


def raids_found(*, recording: Recording, profile: str = "demo") -> list[Raid]:
    game = load_profile(profile)
    kill_types = set(game.overlays.values())
    rows = (DetectedEvent.objects.filter(recording=recording)
            .exclude(review_status=DetectedEvent.ReviewStatus.DELETED)
            .filter(event_type__in=[game.raid_start_event, game.raid_end_event, *kill_types])
            .order_by("video_offset_seconds", "id").values_list("event_type", "video_offset_seconds", "data"))
    raids: list[Raid] = []
    current: Raid | None = None
    for kind, at, data in rows:
        if kind == game.raid_start_event:
            if current is not None:
                current.end = at
            current = Raid(index=len(raids) + 1, start=at, end=at, start_data=dict(data or {}))
            raids.append(current)
        elif kind == game.raid_end_event:
            if current is None:  # its start went unseen: it began where the previous raid ended
                current = Raid(index=len(raids) + 1, start=raids[-1].end if raids else 0.0, end=at)
                raids.append(current)
            current.end, current.end_data, current.end_seen = at, dict(data or {}), True
            current = None
        elif current is not None:
            current.kills.append((at, dict(data or {})))
    if current is not None:
        current.end = max(current.start, recording.duration_seconds or current.start,
                          max((t for t, _ in current.kills), default=current.start))
    return raids


def raid_facts(raids: list[Raid], *, recording: Recording, profile: str = "demo") -> list[dict[str, Any]]:
    """One JSON-ready dict per raid, keys and lists in a stable order (they are hashed for the cache)."""
    hud = [f.name for f in label_schema_load(profile).hud_fields]
    windows = _latest_windows(recording)
    return [_facts(raid, [w for w in windows if raid.start <= w[0] < raid.end], hud) for raid in raids]


def _latest_windows(recording: Recording) -> list[tuple[float, str, dict[str, Any] | None]]:
    latest = WindowLabel.objects.filter(recording=recording).order_by("-updated_at", "-id").first()
    if latest is None:
        return []
    rows = (WindowLabel.objects.filter(recording=recording, prompt_version=latest.prompt_version, spec=latest.spec)
            .order_by("start", "window_index").values_list("start", "status", "label", "corrected_label"))
    # Plain values, not thousands of instances (a three-hour run has 5,400 windows); a correction wins.
    return [(start, status, corrected if corrected is not None else label) for start, status, label, corrected in rows]


def _facts(raid: Raid, windows: list[tuple[float, str, dict[str, Any] | None]], hud: list[str]) -> dict[str, Any]:
    facts: dict[str, Any] = {
        "raid": raid.index,
        "video_start_s": round(raid.start, 1),
        "duration_s": round(raid.end - raid.start),
        **_present(raid.start_data),
        "outcome": "unknown (the end was not seen)" if not raid.end_seen else "unknown",
        **_present(raid.end_data),
        "kills": [{"at_s": round(at - raid.start), **_present(data)} for at, data in raid.kills],
    }
    labels = [(start, label) for start, status, label in windows
              if status == WindowLabel.Status.LABELLED and label is not None]
    facts["windows"] = {"labelled": len(labels), "failed": len(windows) - len(labels)}
    if labels:
        tactics = [str(label.get("tactic", "")) for _, label in labels]
        facts["tactics"] = dict(sorted(Counter(tactics).items(), key=lambda item: (-item[1], item[0])))
        facts["tactic_runs"] = _runs([(start - raid.start, tactic) for (start, _), tactic in zip(labels, tactics)])
        for name in hud:
            values = [int(label[name]) for _, label in labels if label.get(name) is not None]
            if values:
                facts[name] = {"first": values[0], "last": values[-1], "lowest": min(values),
                               "mean": round(sum(values) / len(values))}
    return facts


def _present(data: dict[str, Any]) -> dict[str, Any]:
    return {key: data[key] for key in sorted(data) if data[key] not in (None, "")}


def _runs(tactics: list[tuple[float, str]]) -> list[list[Any]]:
    """[tactic, from_s, to_s] for each stretch of one tactic, in order."""
    runs: list[list[Any]] = []
    for at, tactic in tactics:
        if runs and runs[-1][0] == tactic:
            runs[-1][2] = round(at)
        else:
            runs.append([tactic, round(at), round(at)])
    return runs
