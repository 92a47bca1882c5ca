#!/usr/bin/env python
"""The detector alone on rendered footage: how sure is each model of the screen the truth shows?

For every sampled frame (`--fps`, default 2) of each video, the truth's segments say which
screen (and whether a kill notification) is on it; each model (`--model`, any number, run on
the same frames) gives its score for that class (its best box of the class, 0 when none
reaches `--floor`). Frames within `--margin` seconds of a segment's edge are left out (fades),
and so are frames the truth lists as blanked. Per class and model it prints the frames, the
mean and median score of the true class, the share of frames where it reaches the profile's
confidence threshold, and the share where it is the top screen (the one the pipeline takes).

    .venv/bin/python bench/bench_screen_scores.py --video var/bench/generalization/<key>/session.mkv \
        --model detection/bundled/demo_yolo11n.int8.onnx --model /tmp/new.onnx
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

OVERLAY = "kill_notification"


def truth_at(segments: list[list[Any]], blanked: list[tuple[float, float]], t: float, margin: float) -> tuple[str | None, bool]:
    """The screen shown at `t` (None: near an edge, blanked or nothing) and whether a kill shows."""
    if any(start - margin <= t < end + margin for start, end in blanked):
        return None, False
    screen, kill = None, False
    for start, end, cls in segments:
        inside = start + margin <= t < end - margin
        if cls == OVERLAY:
            kill = kill or inside
        elif inside:
            screen = cls
    return screen, kill


def blanked_spans(metadata: dict[str, Any]) -> list[tuple[float, float]]:
    spans = []
    for item in metadata.get("blanked") or []:
        if isinstance(item, dict) and "start" in item and "end" in item:
            spans.append((float(item["start"]), float(item["end"])))
        elif isinstance(item, (list, tuple)) and len(item) >= 2:
            spans.append((float(item[0]), float(item[1])))
    return spans


def measure(video: Path, models: list[str], *, fps: float, margin: float, floor: float) -> dict[str, Any]:
    from detection.pipeline.detector import DetectorConfig, OnnxDetector
    from detection.pipeline.profile import load_profile
    from detection.pipeline.source import FileVideoSource

    profile = load_profile("demo")
    truth = json.loads(video.with_suffix(".truth.json").read_text())
    segments, blanked = truth.get("segments", []), blanked_spans(truth.get("metadata", {}))
    detectors = {m: OnnxDetector(DetectorConfig(model_path=m, classes=profile.classes, confidence=floor, threads=1))
                 for m in models}
    scores: dict[str, dict[str, list[float]]] = {m: defaultdict(list) for m in models}
    top: dict[str, dict[str, list[bool]]] = {m: defaultdict(list) for m in models}
    screens = set(profile.screens)
    with FileVideoSource(video, detection_fps=fps) as source:
        while (frame := source.read_frame()) is not None:
            screen, kill = truth_at(segments, blanked, frame.video_time, margin)
            wanted = [c for c in (screen, OVERLAY if kill else None) if c]
            if not wanted:
                continue
            for model, detector in detectors.items():
                found = detector.detect([frame.image])[0]
                best: dict[str, float] = {}
                for d in found:
                    best[d.label] = max(best.get(d.label, 0.0), d.confidence)
                for cls in wanted:
                    scores[model][cls].append(best.get(cls, 0.0))
                if screen:
                    shown = [d for d in found if d.label in screens]
                    top[model][screen].append(bool(shown) and max(shown, key=lambda d: d.confidence).label == screen)
    threshold = profile.thresholds.confidence
    return {
        model: {
            cls: {"frames": len(values), "mean": statistics.fmean(values), "median": statistics.median(values),
                  "above_threshold": sum(v >= threshold for v in values) / len(values),
                  "top_screen": (sum(top[model][cls]) / len(top[model][cls])) if top[model][cls] else None}
            for cls, values in sorted(by_class.items())
        }
        for model, by_class in scores.items()
    }


def report(video: Path, results: dict[str, Any]) -> None:
    print(f"\n{video}")
    models = list(results)
    names = [Path(m).name for m in models]
    print(f"  {'class':<19}{'frames':>7}" + "".join(f"  {n[:28]:>28}" for n in names))
    print(f"  {'':<19}{'':>7}" + "".join(f"  {'mean / median / >=thr / top':>28}" for _ in names))
    classes = sorted({cls for by_class in results.values() for cls in by_class})
    for cls in classes:
        frames = results[models[0]].get(cls, {}).get("frames", 0)
        cells = []
        for m in models:
            s = results[m].get(cls)
            top = "-" if s["top_screen"] is None else f"{s['top_screen']:.2f}"
            cells.append(f"{s['mean']:.2f} / {s['median']:.2f} / {s['above_threshold']:.2f} / {top}")
        print(f"  {cls:<19}{frames:>7}" + "".join(f"  {c:>28}" for c in cells))
    for m, name in zip(models, names):
        all_scores = [(s["mean"], s["frames"]) for s in results[m].values()]
        frames = sum(n for _, n in all_scores)
        weighted = sum(mean * n for mean, n in all_scores) / max(1, frames)
        screens = [s for cls, s in results[m].items() if s["top_screen"] is not None]
        top = sum(s["top_screen"] * s["frames"] for s in screens) / max(1, sum(s["frames"] for s in screens))
        per_class = statistics.fmean(mean for mean, _ in all_scores)
        print(f"  {name}: true-class score {weighted:.3f} over {frames} (frame, class) pairs, {per_class:.3f} averaged "
              f"over classes; top screen right {top:.3f}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--video", action="append", required=True, help="a render with its .truth.json beside it")
    parser.add_argument("--model", action="append", required=True, help="an ONNX file (repeat to compare)")
    parser.add_argument("--fps", type=float, default=2.0)
    parser.add_argument("--margin", type=float, default=0.5, help="seconds left out at each segment edge")
    parser.add_argument("--floor", type=float, default=0.01, help="lowest score a box is kept at")
    parser.add_argument("--json", help="write the figures here too")
    args = parser.parse_args()
    everything = {}
    for video in map(Path, args.video):
        results = measure(video, args.model, fps=args.fps, margin=args.margin, floor=args.floor)
        report(video, results)
        everything[str(video)] = results
    if args.json:
        Path(args.json).write_text(json.dumps(everything, indent=2))


if __name__ == "__main__":
    main()
