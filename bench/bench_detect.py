#!/usr/bin/env python
"""Detection speed on a long render: video-seconds per wall-second for

  (a) decoding every frame (PyAV, threaded: the floor any full-rate pipeline pays),
  (a2) `decode_nonref`: decoding only the frames others refer to, as the pipeline does when a
       video has B-frames and at least two frames per sample (a reference figure, not a baseline),
  (b) the full pipeline in one pass (gate, batched YOLO on onnxruntime, OCR, filters, state machine),
  (b2) the two-pass mode (keyframe proposal pass, then full-rate decode only around what it found),
  (c) a naive baseline: ultralytics YOLO(model.onnx).predict(source=video, vid_stride=6) at the same image size,

plus per-stage timings and each mode's peak memory (each mode runs in its own process). With a
`<video>.truth.json` beside the video, (b) and (b2) are also scored against it.

    .venv/bin/python bench/bench_detect.py --video /tmp/r/bench.mkv [--model detection/bundled/demo_yolo11n.int8.onnx]
    .venv/bin/python bench/bench_detect.py --render /tmp/r --minutes 10 --seed 7   # render the video first

(c) needs ultralytics, which the inference venv deliberately lacks: it runs in the training venv
(`--baseline-python .venv-train/bin/python`) and is skipped with a note when that is missing.
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from detection.pipeline.text import TextReader

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
from detection.pipeline.run_settings import BUNDLED_MODEL  # noqa: E402


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_seconds() -> float:
    """CPU seconds of this process, every thread: on a shared machine the load stretches the wall
    time of a run, not this, so ratios of it hold between runs at different loads."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def mode_decode(video: Path, limit: float | None, *, skip_nonref: bool = False) -> dict[str, Any]:
    from detection.pipeline.source import DecodeOptions, FileVideoSource

    source = FileVideoSource(video, detection_fps=10, options=DecodeOptions(skip_nonref=skip_nonref))
    started, cpu = time.perf_counter(), cpu_seconds()
    last = 0.0
    for frame in source.raw_frames():
        last = float(frame.time or 0.0)
        if limit and last >= limit:
            break
    wall = time.perf_counter() - started
    return {"video_seconds": last, "wall": wall, "cpu_s": round(cpu_seconds() - cpu, 1),
            "frames": source.frames_decoded}


def warm_up(reader: TextReader) -> None:
    """The OCR engine's first read costs seconds of session start-up, once per process, not per video."""
    import cv2
    import numpy as np

    image = np.full((48, 160, 3), 30, np.uint8)
    cv2.putText(image, "WARM UP", (6, 34), cv2.FONT_HERSHEY_SIMPLEX, 1.0, (255, 255, 255), 2)
    reader.read(image)


def mode_pipeline(video: Path, model: Path, two_pass: bool, gate: bool) -> dict[str, Any]:
    from detection.pipeline.event_log import format_timestamp, write_event_log
    from detection.pipeline.factory import build_pipeline, event_log_for, open_source
    from detection.pipeline.profile import load_profile
    from detection.pipeline.run_settings import DetectSettings
    from detection.pipeline.probe import probe_video

    profile = load_profile("demo")
    settings = DetectSettings(model_path=str(model), two_pass=two_pass, gate=gate)
    pipeline = build_pipeline(profile, settings)
    warm_up(pipeline.fields.reader)
    info = probe_video(video)
    started, cpu = time.perf_counter(), cpu_seconds()
    source, proposal = open_source(video, pipeline, settings, started_at=info.creation_time)
    result = pipeline.run(source)
    wall, cpu = time.perf_counter() - started, cpu_seconds() - cpu
    out = Path(os.environ.get("BENCH_OUT", "/tmp")) / f"{video.stem}.{'twopass' if two_pass else 'single'}.events.json"
    log = event_log_for(result, metadata={"video": video.name, "started_at": format_timestamp(info.creation_time)},
                        started_at=info.creation_time)
    write_event_log(log, out)
    record: dict[str, Any] = {
        "video_seconds": info.duration, "wall": wall, "cpu_s": round(cpu, 1), "timings": result.timings.to_json(),
        "events": len(result.events),
        "error": result.error, "log": str(out),
    }
    if proposal is not None:
        record["proposal"] = {"seconds": round(proposal.seconds, 2), "keyframes": len(proposal.keyframes),
                              "word_reads": proposal.word_reads, "spans": len(proposal.spans),
                              "decoded_video_seconds": round(proposal.covered, 1)}
    return record


def mode_baseline(video: Path, model: Path, image_size: int, limit: float | None) -> dict[str, Any]:
    os.environ.setdefault("YOLO_OFFLINE", "1")
    os.environ.setdefault("YOLO_VERBOSE", "False")
    from ultralytics import YOLO

    import cv2

    capture = cv2.VideoCapture(str(video))
    fps = float(capture.get(cv2.CAP_PROP_FPS) or 30)
    capture.release()
    detector = YOLO(str(model), task="detect")
    started = time.perf_counter()
    results = 0
    for _ in detector.predict(source=str(video), vid_stride=6, imgsz=image_size, stream=True, verbose=False):
        results += 1
        if limit and results * 6 / fps >= limit:
            break
    wall = time.perf_counter() - started
    return {"video_seconds": results * 6 / fps, "wall": wall, "frames": results}


def child(args: argparse.Namespace) -> None:
    video, model = Path(args.video), Path(args.model)
    if args.mode in ("decode", "decode_nonref"):
        record = mode_decode(video, None, skip_nonref=args.mode == "decode_nonref")
    elif args.mode in ("single", "twopass", "nogate"):
        record = mode_pipeline(video, model, args.mode == "twopass", args.mode != "nogate")
    else:
        record = mode_baseline(video, model, args.image_size, args.limit)
    record["peak_mb"] = round(peak_mb(), 1)
    print("RESULT " + json.dumps(record))


def run_mode(mode: str, args: argparse.Namespace, python: str) -> dict[str, Any] | None:
    command = [python, __file__, "--child", mode, "--video", args.video, "--model", args.model,
               "--image-size", str(args.image_size)] + (["--limit", str(args.limit)] if args.limit else [])
    done = subprocess.run(command, capture_output=True, text=True, cwd=ROOT)
    lines = [line for line in done.stdout.splitlines() if line.startswith("RESULT ")]
    if done.returncode or not lines:
        print(f"  {mode}: failed\n{done.stderr[-2000:]}")
        return None
    record: dict[str, Any] = json.loads(lines[-1][7:])
    return record


def score(log: str, truth: Path) -> str:
    from detection.evaluation import evaluate
    from detection.pipeline.event_log import read_event_log

    return evaluate(read_event_log(truth), read_event_log(log)).table()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--video")
    parser.add_argument("--model", default=str(BUNDLED_MODEL))
    parser.add_argument("--image-size", type=int, default=320)
    parser.add_argument("--render", help="render a 1080p60 session into this folder first")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--preset", default="veryfast",
                        help="x264 preset of the render: veryfast is OBS's default (B-frames, CABAC, deblocking); "
                             "ultrafast has none of those and decodes about 2.4x faster")
    parser.add_argument("--modes", default="decode,decode_nonref,single,twopass,baseline")
    parser.add_argument("--limit", type=float, help="stop the baseline after this many video seconds (it is slow)")
    parser.add_argument("--baseline-python", default=str(ROOT / ".venv-train" / "bin" / "python"))
    parser.add_argument("--child", dest="mode", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.mode:
        child(args)
        return
    if args.render:
        from detection.render.session import render_session

        rendered = render_session(out_dir=args.render, seconds=args.minutes * 60, fps=60, size=(1920, 1080),
                                  seed=args.seed, name=f"bench-{args.seed}-{args.preset}", preset=args.preset)
        args.video = str(rendered.video)
        print(f"rendered {rendered.video} at {rendered.speed:.2f} video-s/s")
    if not args.video:
        parser.error("--video or --render is needed")
    print(f"video {args.video}, model {args.model}, {os.cpu_count()} CPUs")
    results: dict[str, dict[str, Any]] = {}
    for mode in args.modes.split(","):
        python = args.baseline_python if mode == "baseline" else sys.executable
        if mode == "baseline" and not Path(python).exists():
            print(f"  baseline: skipped, no ultralytics venv at {python}")
            continue
        record = run_mode(mode, args, python)
        if record is None:
            continue
        results[mode] = record
        speed = float(record["video_seconds"]) / float(record["wall"])
        record["speed"] = round(speed, 2)
        print(f"  {mode:9} {speed:6.2f} video-s/s  ({record['video_seconds']:.0f} s of video in {record['wall']:.1f} s,"
              f" {record.get('cpu_s', '-')} CPU-s, peak {record['peak_mb']} MB)")
        if "timings" in record:
            print(f"            stages (s): {json.dumps(record['timings'])}")
        if "proposal" in record:
            print(f"            proposal: {json.dumps(record['proposal'])}")
    base = results.get("decode", {}).get("speed")
    for mode in ("single", "twopass"):
        if mode in results and base:
            cpu = float(results["decode"]["cpu_s"]) / float(results[mode]["cpu_s"])
            line = f"  {mode}: {float(results[mode]['speed']) / float(base):.2f} x decode ({cpu:.2f} x by CPU seconds)"
            if "baseline" in results:
                line += f", {float(results[mode]['speed']) / float(results['baseline']['speed']):.2f} x baseline"
            print(line)
    truth = Path(args.video).with_suffix(".truth.json")
    if truth.exists():
        for mode in ("single", "twopass"):
            if mode in results:
                print(f"\naccuracy of {mode} against {truth.name}:\n{score(str(results[mode]['log']), truth)}")


if __name__ == "__main__":
    main()
