#!/usr/bin/env python
"""Confidence calibration (issue 10): is an event's confidence the chance that it is right?

Renders short sessions in the held-out style families (some with screens blanked, so there are
inferred events and wrong fields), once, into the same cache as bench_generalization.py; runs
the pipeline on each as `manage.py detect --detection-fps 10` does, in this process, keeping
every event's raw confidence and inferred flag (cached per render, model and pipeline code); matches
the events to the truth (detection/evaluation.py: same type, ±2 s, one to one). An event is
right when it is matched and every one of its truth's fields is right.

The renders form two halves. Curves (detection/pipeline/calibration.py, per event type and
inferred flag) fitted on one half calibrate the other half's events, so every calibrated
confidence measured comes from curves that never saw its render: reliability tables (confidence
bins -> events, mean confidence, fraction right) and the expected calibration error (ECE: the
events' share-weighted gap between a bin's mean confidence and its fraction right), raw and
calibrated. `--write` stores curves fitted on both halves beside the model, tied to its sha256.

    .venv/bin/python bench/bench_calibration.py --render-only        # the renders alone
    .venv/bin/python bench/bench_calibration.py                      # tables, fitted curves not kept
    .venv/bin/python bench/bench_calibration.py --write              # ... and kept beside the model
"""
from __future__ import annotations

import argparse
import functools
import hashlib
import json
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "bench"))

from bench_generalization import Case, render  # noqa: E402  (the cache and the renders are shared)
from detection.pipeline.run_settings import BUNDLED_MODEL  # noqa: E402

TYPES = ("raid_start", "kill", "raid_end", "state_transition")
KEYINT = 250  # keyframes as OBS writes them with its interval on auto, as bench_generalization renders
BINS = (0.0, 0.2, 0.4, 0.6, 0.8, 1.0001)


@dataclass(frozen=True)
class Render:
    family: str
    seed: int
    minutes: float
    blank_screens: int = 0
    blank_stretch: int = 0
    resolution: str = "1280x720"

    @property
    def title(self) -> str:
        blanks = f", {self.blank_screens} screens + a stretch of {self.blank_stretch} blanked" if self.blank_screens else ""
        return f"{self.family} seed {self.seed}, {self.minutes:g} min {self.resolution.split('x')[1]}p{blanks}"


# Held-out families only, in two halves that never share a seed: each half is measured with curves
# fitted on the other. Mostly 720p (renders draw about twice as fast as at 1080p on the 2-core build
# machine); the two 4-minute 1080p renders are bench_generalization's. A blanked stretch needs a raid
# that ends before another: the blanked seeds plan two raids in 4 minutes.
HALVES: dict[str, tuple[Render, ...]] = {
    "A": (Render("muted", 7101, 4, 2, 2), Render("serif", 7110, 4, 2, 2), Render("muted", 7103, 4, 2, 2),
          Render("serif", 7106, 4, 2, 2), Render("serif", 7104, 4), Render("muted", 7105, 4), Render("serif", 7108, 4)),
    "B": (Render("muted", 5160, 4, resolution="1920x1080"), Render("serif", 5150, 4, resolution="1920x1080"),
          Render("muted", 7204, 4, 2, 2), Render("serif", 7109, 4, 2, 2), Render("muted", 7111, 4)),
}


@dataclass(frozen=True)
class Sample:
    type: str
    inferred: bool
    raw: float
    right: bool


def video_of(item: Render, args: argparse.Namespace) -> Path:
    settings = argparse.Namespace(minutes=item.minutes, resolution=item.resolution, fps=30, preset="veryfast",
                                  keyint=KEYINT, cache=args.cache)
    case = Case("calibration", item.title, item.family, item.seed, item.blank_screens, item.blank_stretch)
    return render(case, settings)


@functools.cache
def pipeline_digest() -> str:
    """Of the pipeline's code and profiles: events cached by an earlier version of either are not this one's."""
    digest = hashlib.sha256()
    for path in sorted([*(ROOT / "detection" / "pipeline").glob("*.py"), *(ROOT / "detection" / "profiles").glob("*.yaml")]):
        digest.update(path.name.encode() + path.read_bytes())
    return digest.hexdigest()


def raw_events(video: Path, model: Path, sha256: str) -> list[dict[str, Any]]:
    """The pipeline's events on `video` with their raw confidence, run once per model and pipeline digest."""
    cached = video.parent / f"calibration-events-{sha256[:12]}-{pipeline_digest()[:12]}.json"
    if cached.exists():
        events: list[dict[str, Any]] = json.loads(cached.read_text())
        return events
    from detection.pipeline.factory import build_pipeline, open_source
    from detection.pipeline.profile import load_profile
    from detection.pipeline.run_settings import DetectSettings

    profile = load_profile("demo")
    settings = DetectSettings(model_path=str(model), model_sha256=sha256)
    pipeline = build_pipeline(profile, settings)
    started = time.perf_counter()
    source, _ = open_source(video, pipeline, settings)
    result = pipeline.run(source)
    print(f"  ran {video.parent.name} in {time.perf_counter() - started:.0f} s: {len(result.events)} events")
    events = [
        {"type": e.type, "time": e.video_time, "data": e.data, "confidence": e.confidence,
         "raw": float(e.evidence.get("raw_confidence", e.confidence)), "inferred": bool(e.evidence.get("inferred"))}
        for e in result.events
    ]
    cached.write_text(json.dumps(events, indent=1))
    return events


def samples_of(video: Path, events: list[dict[str, Any]]) -> tuple[list[Sample], int]:
    """Each event, right or wrong; and how many truth events nothing matched."""
    from detection.evaluation import TOLERANCE_SECONDS, match_events, same_value
    from detection.pipeline.event_log import LoggedEvent, read_event_log

    truth = read_event_log(video.with_suffix(".truth.json")).events
    found = [LoggedEvent(event_id=str(i), type=e["type"], video_offset_seconds=e["time"], data=e["data"])
             for i, e in enumerate(events)]
    right: set[str] = set()
    matched = 0
    for kind in {e.type for e in truth} | {e.type for e in found}:
        pairs = match_events([t for t in truth if t.type == kind], [f for f in found if f.type == kind],
                             TOLERANCE_SECONDS)
        matched += len(pairs)
        right |= {f.event_id for t, f in pairs if all(same_value(v, f.data.get(k)) for k, v in t.data.items())}
    samples = [Sample(e["type"], e["inferred"], e["raw"], str(i) in right) for i, e in enumerate(events)]
    return samples, len(truth) - matched


def reliability(samples: list[Sample], confidence: Callable[[Sample], float]) -> tuple[list[tuple[str, int, float, float]], float]:
    """Rows (bin, events, mean confidence, fraction right) and the ECE, for confidences `confidence(sample)`."""
    rows, gap = [], 0.0
    for low, high in zip(BINS, BINS[1:]):
        inside = [(confidence(s), s.right) for s in samples if low <= confidence(s) < high]
        if not inside:
            continue
        mean = sum(c for c, _ in inside) / len(inside)
        rate = sum(r for _, r in inside) / len(inside)
        rows.append((f"{low:.1f}-{min(high, 1.0):.1f}", len(inside), mean, rate))
        gap += len(inside) * abs(mean - rate)
    return rows, gap / max(1, len(samples))


def table(name: str, samples: list[Sample], before: Callable[[Sample], float], after: Callable[[Sample], float]) -> str:
    rows_before, ece_before = reliability(samples, before)
    rows_after, ece_after = reliability(samples, after)
    wrong = sum(not s.right for s in samples)
    inferred = sum(s.inferred for s in samples)
    lines = [f"**{name}**: {len(samples)} events ({wrong} wrong, {inferred} inferred); "
             f"ECE {ece_before:.3f} raw → **{ece_after:.3f}** calibrated", "",
             "| confidence | raw: events | mean | right | calibrated: events | mean | right |", "|---|---|---|---|---|---|---|"]
    bins = dict.fromkeys(r[0] for r in [*rows_before, *rows_after])
    by_before, by_after = {r[0]: r for r in rows_before}, {r[0]: r for r in rows_after}
    for label in sorted(bins):
        cells = []
        for rows in (by_before, by_after):
            r = rows.get(label)
            cells.append(f"{r[1]} | {r[2]:.2f} | {r[3]:.2f}" if r else "0 | - | -")
        lines.append(f"| {label} | {cells[0]} | {cells[1]} |")
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default=str(BUNDLED_MODEL))
    parser.add_argument("--cache", default=str(ROOT / "var" / "bench" / "generalization"))
    parser.add_argument("--render-only", action="store_true", help="render (or find) the videos, measure nothing")
    parser.add_argument("--write", action="store_true", help="store curves fitted on both halves beside the model")
    args = parser.parse_args()

    from detection.pipeline.calibration import Calibration, calibration_path, fit_calibration
    from detection.pipeline.hashing import file_sha256

    model = Path(args.model).resolve()
    sha256 = file_sha256(model)
    print(f"model {model} (sha256 {sha256[:12]}), renders cached in {args.cache}")
    measured: dict[str, list[Sample]] = {name: [] for name in HALVES}
    for name, renders in HALVES.items():
        for item in renders:
            print(f"\n== half {name}: {item.title}")
            video = video_of(item, args)
            if args.render_only:
                continue
            samples, missed = samples_of(video, raw_events(video, model, sha256))
            measured[name] += samples
            print(f"  {len(samples)} events, {sum(not s.right for s in samples)} wrong, "
                  f"{sum(s.inferred for s in samples)} inferred; {missed} truth events missed")
    if args.render_only:
        return

    def fitted(samples: list[Sample]) -> Calibration:
        return fit_calibration([(s.type, s.inferred, s.raw, s.right) for s in samples], model_sha256=sha256)

    def raw(s: Sample) -> float:
        return s.raw

    # Cross-fitted: each half's events take the curves fitted on the other half only.
    crossed: dict[int, float] = {}
    for name, other in (("A", "B"), ("B", "A")):
        curves = fitted(measured[other])
        for s in measured[name]:
            crossed[id(s)] = curves.confidence(s.type, s.raw, inferred=s.inferred)
        _, before = reliability(measured[name], raw)
        _, after = reliability(measured[name], lambda s: crossed[id(s)])
        print(f"\nhalf {name} ({len(measured[name])} events) with curves fitted on half {other}: "
              f"ECE {before:.3f} raw -> {after:.3f} calibrated")

    def calibrated(s: Sample) -> float:
        return crossed[id(s)]

    every = [s for samples in measured.values() for s in samples]
    print(f"\nAll {len(every)} events, each calibrated by curves fitted on the other half:\n")
    print(table("all types", every, raw, calibrated))
    for kind in TYPES:
        of_kind = [s for s in every if s.type == kind]
        if of_kind:
            print("\n" + table(kind, of_kind, raw, calibrated))
    final = fitted(every)
    for (kind, inferred), curve in sorted(final.curves.items()):
        knots = ", ".join(f"{x:.2f}->{y:.2f}" for x, y in zip(curve.x, curve.y))
        print(f"curve {kind}{' (inferred)' if inferred else ''}, {curve.n} events: {knots}")
    if args.write:
        target = calibration_path(model)
        target.write_text(json.dumps(final.to_json(
            model=model.name, method="isotonic from 30 events, else regularised logistic; per event type and inferred "
                                     "flag (bench/bench_calibration.py)",
            fitted_on=[r.title for renders in HALVES.values() for r in renders], events=len(every),
        ), indent=1) + "\n")
        print(f"\ncalibration written to {target}")


if __name__ == "__main__":
    main()
