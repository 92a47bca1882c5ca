"""VLM labelling: throughput against a server that answers like a real model, cache, bad answers, preparation.

Run: .venv/bin/python bench/bench_vlm.py [--windows 600] [--delay 1.5] [--concurrency 8] [--video FILE.mkv]
     .venv/bin/python bench/bench_vlm.py --long-video FILE.mkv [--hours 3]   # memory over a long recording only
Embedded (SQLite in a temporary VODSCOPE_HOME) unless DATABASE_URL is set: the cache and the WindowLabel
rows go through the database as in `vlm_label`. The server is tests/labeling/fake_vlm.py speaking the
OpenAI protocol, reached through the real `openai` client.

Targets (issue 13): with 8 in flight and 1.5 s per answer, >= 288 windows/min (90 % of 8 / 1.5 s);
a second run from the cache makes 0 requests; with 30 % of answers failing or malformed every window
ends labelled or failed, none lost, none duplicated; preparing windows >= 10x real time; Vodscope's
own share of a window's latency under 100 ms; memory flat over a three-hour recording (`--long-video`:
the video repeated to `--hours` by stream copy, every window prepared in one pass, RSS sampled as it goes).
"""
from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import statistics
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("VODSCOPE_HOME", tempfile.mkdtemp(prefix="vodscope-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

import django  # noqa: E402

django.setup()

import logging  # noqa: E402

import cv2  # noqa: E402
import numpy as np  # noqa: E402
from asgiref.sync import async_to_sync, sync_to_async  # noqa: E402
from django.core.management import call_command  # noqa: E402

from detection.pipeline.labels import label_schema_load, prompt_load  # noqa: E402
from detection.pipeline.profile import load_profile  # noqa: E402
from detection.pipeline.text import RapidTextReader  # noqa: E402
from detection.pipeline.windows import WindowSpec, window_plan  # noqa: E402
from labeling.analyst import Analyst, Limits, PreparedWindow, WindowResult  # noqa: E402
from labeling.backends.base import BackendConfig, backend_create  # noqa: E402
from labeling.services.vlm_label import DbCache, window_label_store  # noqa: E402
from labeling.vlm_models import WindowLabel  # noqa: E402
from labeling.windows import jpeg, video_duration, windows_prepared  # noqa: E402

logging.getLogger("httpx").setLevel(logging.WARNING)
logging.getLogger("httpx2").setLevel(logging.WARNING)


def _scene(rng: np.random.Generator, width: int, height: int) -> bytes:
    """A gradient with a few shapes and words: JPEG-sized like a rendered frame (~10 KB), not like noise."""
    image = np.zeros((height, width, 3), np.uint8)
    image[:] = np.linspace(30, 200, width, dtype=np.uint8)[None, :, None]
    for _ in range(6):
        x, y = int(rng.integers(0, width - 40)), int(rng.integers(0, height - 30))
        color = tuple(int(c) for c in rng.integers(0, 255, 3))
        cv2.rectangle(image, (x, y), (x + 40, y + 30), color, -1)
    cv2.putText(image, f"HP {int(rng.integers(1, 100))}%", (10, height - 10), cv2.FONT_HERSHEY_SIMPLEX, 0.6,
                (255, 255, 255), 1)
    return jpeg(image)


def synthetic_windows(count: int, *, seed: int) -> list[PreparedWindow]:
    """Distinct windows of the size vlm_label sends (5 frames at 448x252 and a 768x144 HUD crop)."""
    rng = np.random.default_rng(seed)
    frames = [_scene(rng, 448, 252) for _ in range(5)]
    hud = _scene(rng, 768, 144)
    return [PreparedWindow(index=i, start=2.0 * i, end=2.0 * i + 2, frame_times=tuple(2.0 * i + 0.4 * k for k in range(5)),
                           images=(*frames, hud), content_hash=f"bench-{seed}-{i}",
                           ocr={"health": 70, "shield": 40}) for i in range(count)]


def label_all(windows: list[PreparedWindow], *, url: str, concurrency: int, tag: str) -> tuple[Analyst, list[WindowResult], float]:
    schema = label_schema_load("demo")
    backend = backend_create(BackendConfig(type_key="openai", model="test-model", base_url=url + "/v1", api_key="k"))
    analyst = Analyst(backends=[backend], schema=schema, prompt=prompt_load("demo", schema.default_prompt),
                      limits=Limits(concurrency=concurrency, requests_per_minute=100_000, attempts=2,
                                    backoff_initial=0.05, backoff_max=0.2),
                      cache=DbCache())
    results: list[WindowResult] = []

    def store(result: WindowResult) -> None:
        window_label_store(result, video=Path(f"/bench/{tag}.mkv"), recording=None, job=None,
                           prompt_version="bench", spec_key="5x2/2")
        results.append(result)

    async def on_result(result: WindowResult) -> None:
        await sync_to_async(store, thread_sensitive=True)(result)

    async def run() -> None:
        try:
            await analyst.run(iter(windows), on_result)
        finally:
            await backend.close()

    started = time.monotonic()
    async_to_sync(run)()
    return analyst, results, time.monotonic() - started


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else 0.0


@contextmanager
def fake_server(delay: float, *, bad: bool = False) -> Iterator[str]:
    """The fake VLM in a process of its own, as a real server is: its JSON work is not ours."""
    command = [sys.executable, "-m", "tests.labeling.fake_vlm", str(delay), *(["bad"] if bad else [])]
    process = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip()
    finally:
        process.terminate()
        process.wait(timeout=10)


def server_stats(url: str) -> dict[str, int]:
    with urllib.request.urlopen(url + "/_stats", timeout=10) as response:
        stats: dict[str, int] = json.loads(response.read())
        return stats


def throughput(args: argparse.Namespace) -> None:
    windows = synthetic_windows(args.windows, seed=1)
    with fake_server(args.delay) as url:
        analyst, results, seconds = label_all(windows, url=url, concurrency=args.concurrency, tag="throughput")
        first = server_stats(url)
        _, again, again_seconds = label_all(windows, url=url, concurrency=args.concurrency, tag="throughput")
        cached_requests = server_stats(url)["requests"] - first["requests"]
    rate = len(results) / seconds * 60
    bound = args.concurrency / args.delay * 60
    latency = [r.latency_ms for r in results]
    own = [r.own_ms for r in results]
    print(f"throughput: {len(results)} windows in {seconds:.1f} s = {rate:.0f} windows/min "
          f"({rate / bound:.0%} of the {bound:.0f}/min that {args.concurrency} in flight at {args.delay} s allow); "
          f"{first['requests']} requests, at most {first['max_in_flight']} in flight at the server "
          f"({analyst.stats.max_in_flight} counted by the analyst)")
    print(f"latency per window (worker takes it -> label ready): p50 {percentile(latency, 50):.0f} ms, "
          f"p95 {percentile(latency, 95):.0f} ms; Vodscope's own share (all but the request): "
          f"p50 {percentile(own, 50):.1f} ms, p95 {percentile(own, 95):.1f} ms")
    print(f"second run: {len(again)} windows in {again_seconds:.1f} s, {cached_requests} requests, "
          f"{sum(r.cached for r in again)} from the cache")


def bad_answers(args: argparse.Namespace) -> None:
    """30 % bad (tests/labeling/fake_vlm.thirty_percent_bad); repairs and retries may meet bad answers too."""
    windows = synthetic_windows(args.windows, seed=2)
    with fake_server(0.05, bad=True) as url:
        _, results, seconds = label_all(windows, url=url, concurrency=args.concurrency, tag="bad")
        requests = server_stats(url)["requests"]
    indices = sorted(r.window.index for r in results)
    rows = WindowLabel.objects.filter(video_path="/bench/bad.mkv")
    by_status = {s: sum(r.status == s for r in results) for s in ("labelled", "failed")}
    sources = {s: sum(r.source == s for r in results) for s in ("vlm", "ocr")}
    print(f"30 % bad answers: {len(results)} results for {len(windows)} windows "
          f"(lost {len(set(range(len(windows))) - set(indices))}, duplicated {len(indices) - len(set(indices))}); "
          f"{by_status['labelled']} labelled ({sources['vlm']} by the model, {sources['ocr']} OCR fallback), "
          f"{by_status['failed']} failed with their raw answer; {rows.count()} rows; "
          f"{requests} requests in {seconds:.1f} s")


def preparation(args: argparse.Namespace) -> None:
    """Windows prepared from a rendered video, with and without OCR; with the renderer's truth beside it,
    how often OCR's health and shield at a window's last frame match the HUD the renderer drew."""
    video = Path(args.video)
    spec = WindowSpec()
    profile, schema = load_profile("demo"), label_schema_load("demo")
    duration = video_duration(video)
    plan = window_plan(duration=duration, spec=spec)
    for ocr in (False, True):
        reader = RapidTextReader() if ocr else None
        if reader is not None:
            reader.read(np.zeros((108, 576, 3), np.uint8))  # the engine loads once per process: not counted
        started = time.monotonic()
        prepared = [(w.frame_times[-1], w.ocr) for w in windows_prepared(
            video, plan, spec=spec, profile=profile, schema=schema, reader=reader, context_for=lambda a, b: {})]
        seconds = time.monotonic() - started
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(f"preparation {'with' if ocr else 'without'} OCR: {len(prepared)} windows of {duration:.0f} s of video "
              f"in {seconds:.1f} s = {duration / seconds:.1f}x real time ({seconds / max(1, len(prepared)) * 1000:.0f} ms "
              f"a window); peak RSS {peak:.0f} MiB")
        truth = video.with_suffix(".truth.json")
        if ocr and truth.exists():
            hud_agreement(prepared, json.loads(truth.read_text()))


def long_recording(args: argparse.Namespace) -> None:
    """Every window of a recording `--hours` long prepared in one decoding pass, RSS sampled every
    ~10 minutes of video: the window reader must hold only the frames of windows still to come."""
    source = Path(args.long_video)
    repeats = max(1, round(args.hours * 3600 / video_duration(source)))
    with tempfile.TemporaryDirectory() as folder:
        listing, long_video = Path(folder) / "list.txt", Path(folder) / "long.mkv"
        listing.write_text(f"file '{source.resolve()}'\n" * repeats)
        subprocess.run(["ffmpeg", "-v", "error", "-f", "concat", "-safe", "0", "-i", str(listing), "-c", "copy",
                        str(long_video)], check=True)
        spec, profile, schema = WindowSpec(), load_profile("demo"), label_schema_load("demo")
        duration = video_duration(long_video)
        plan = window_plan(duration=duration, spec=spec)
        samples: list[tuple[float, float]] = []
        next_sample, started = 0.0, time.monotonic()
        for window in windows_prepared(long_video, plan, spec=spec, profile=profile, schema=schema, reader=None,
                                       context_for=lambda a, b: {}):
            if window.frame_times[-1] >= next_sample:
                samples.append((window.frame_times[-1], _rss_mib()))
                next_sample += 600.0
        seconds = time.monotonic() - started
    print(f"long recording: {len(plan.windows)} windows over {duration / 3600:.2f} h of video in {seconds:.0f} s "
          f"({duration / seconds:.0f}x real time)")
    print("  RSS by video time: " + ", ".join(f"{at / 60:.0f} min {rss:.0f} MiB" for at, rss in samples))
    settled = [rss for at, rss in samples if at >= 600.0]
    if settled:
        print(f"  after the first 10 minutes: {min(settled):.0f}-{max(settled):.0f} MiB "
              f"(growth {settled[-1] - settled[0]:+.0f} MiB over {(samples[-1][0] - 600.0) / 3600:.1f} h)")


def _rss_mib() -> float:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def hud_agreement(prepared: list[tuple[float, dict[str, int | None]]], truth: dict[str, Any]) -> None:
    hud = truth["metadata"].get("hud")
    if not hud:
        print("OCR vs truth: the truth file has no HUD values (rendered before they were written)")
        return
    in_raid = [(start, end) for start, end, cls in truth["segments"] if cls == "gameplay_hud"]
    checked = matched = 0
    for at, ocr in prepared:
        if not any(start + 0.2 <= at <= end - 0.2 for start, end in in_raid):
            continue  # no HUD on screen, or a fade at its edge
        drawn = [h for h in hud if h[0] <= at + 1e-3][-1]
        checked += 1
        matched += (ocr.get("health"), ocr.get("shield")) == (drawn[1], drawn[2])
    print(f"OCR vs truth (the VLM down): health and shield both right on {matched}/{checked} raid windows "
          f"({matched / max(1, checked):.0%})")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--windows", type=int, default=600)
    parser.add_argument("--delay", type=float, default=1.5, help="seconds the fake server takes per answer")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--video", help="a rendered video for the preparation figures (render_demo)")
    parser.add_argument("--long-video", help="only the memory run: this video repeated to --hours")
    parser.add_argument("--hours", type=float, default=3.0)
    args = parser.parse_args()
    if args.long_video:
        long_recording(args)
        return
    call_command("migrate", verbosity=0)
    print(f"{os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}")
    throughput(args)
    bad_answers(args)
    if args.video:
        preparation(args)


if __name__ == "__main__":
    main()
