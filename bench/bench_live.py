"""Live mode, end to end: capture-to-browser latency, live labels, frames dropped by a slow detector, memory.

Embedded mode in a fresh data folder, four processes as a user runs them: daphne (web), the live
process playing a rendered session at real time, a fake VLM server answering in `--vlm-delay` s (the
tests' tests/labeling/fake_vlm.py, its own process) and a WebSocket client on the overlay feed.

    .venv/bin/python bench/bench_live.py --render /tmp/live-bench --minutes 2 --seconds 110
    .venv/bin/python bench/bench_live.py --video V.mkv --loop-minutes 31 --seconds 1800 --no-slow   # memory run

Latency, two figures per event (the same machine's clock for every time):
- `confirm_to_browser`: Vodscope's own latency. From the capture of the frame that made the event
  confirmable (`confirmed_at`: the temporal filter needs several frames of a thing before it is an
  event) to the client's receipt of the `event` message. Target: p95 < 1 s at 5 fps.
- `first_frame_to_browser`: from the event's first frame (`timestamp`) to receipt. It adds the
  confirmation wait, which is the game's (how long a thing must stay on screen), not Vodscope's.
Labels: `window_end_to_browser`, from the capture of a window's last frame to the receipt of its
`label` message (the backend answers in `--vlm-delay` s). Target: p95 < 2 s with a 1 s backend.
Dropped frames: the same real-time source feeding a stand-in detector that takes `--slow` seconds a
frame. Memory: the live process's RSS once it is warm (10 s after its first stats message: model
loaded, frames flowing), then every minute, and at the end.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
WARM_SECONDS = 10.0


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return 0.0


def manage(env: dict[str, str], *args: str) -> str:
    return subprocess.run([sys.executable, "manage.py", *args], cwd=ROOT, env=env, check=True,
                          capture_output=True, text=True).stdout


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def seconds_since(iso: str, now: float) -> float:
    return now - datetime.fromisoformat(iso.replace("Z", "+00:00")).timestamp()


def percentiles(values: list[float]) -> dict[str, Any]:
    ordered = sorted(values)
    if not ordered:
        return {"n": 0, "p50_ms": None, "p95_ms": None, "max_ms": None}
    return {"n": len(ordered), "p50_ms": round(ordered[len(ordered) // 2] * 1000),
            "p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000),
            "max_ms": round(ordered[-1] * 1000)}


@contextmanager
def fake_vlm(delay: float) -> Iterator[str]:
    process = subprocess.Popen([sys.executable, "-m", "tests.labeling.fake_vlm", str(delay)], cwd=ROOT,
                               stdout=subprocess.PIPE, text=True)
    try:
        assert process.stdout is not None
        yield process.stdout.readline().strip()
    finally:
        process.terminate()
        process.wait(timeout=10)


@contextmanager
def web_server(env: dict[str, str]) -> Iterator[int]:
    port = free_port()
    web = subprocess.Popen([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "project.asgi:application"],
                           cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.monotonic() + 300  # a loaded machine starts it slowly
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("daphne did not start") from None
                time.sleep(0.2)
        yield port
    finally:
        web.terminate()
        web.wait(timeout=10)


def end_to_end(video: Path, seconds: float, fps: float, *, label: bool, vlm_delay: float) -> dict[str, object]:
    from websockets.sync.client import connect
    from websockets.typing import Origin

    home = Path(tempfile.mkdtemp(prefix="bench-live-"))
    env = {**os.environ, "VODSCOPE_HOME": str(home), "PYTHONUNBUFFERED": "1"}
    env.pop("DATABASE_URL", None)
    env.pop("REDIS_URL", None)
    manage(env, "migrate", "-v", "0")
    token = manage(env, "shell", "-c", (
        "from django.contrib.auth import get_user_model; from review.services_live import overlay_token_create;"
        "u = get_user_model().objects.create_superuser('bench', 'b@example.com', 'x');"
        "print(overlay_token_create(user=u).key)")).strip().splitlines()[-1]
    confirm: list[float] = []
    first_frame: list[float] = []
    labels: list[float] = []
    rss: list[tuple[float, float]] = []
    last_label: dict[str, Any] = {}
    with fake_vlm(vlm_delay) as vlm_url, web_server(env) as port:
        live_env = {**env, "OLLAMA_HOST": vlm_url, "VODSCOPE_VLM_OLLAMA_MODEL": "test-model"}
        with connect(f"ws://127.0.0.1:{port}/ws/live/overlay/{token}/", origin=Origin(f"http://127.0.0.1:{port}")) as ws:
            command = [sys.executable, "manage.py", "live", "--source", str(video), "--realtime",
                       "--detection-fps", str(fps), *(["--label", "--label-backend", "ollama"] if label else [])]
            log_path = home / "live.log"  # a file, not a pipe nobody reads while it runs (a full pipe would stall it)
            with log_path.open("wb") as log:
                live = subprocess.Popen(command, cwd=ROOT, env=live_env, stdout=log, stderr=subprocess.STDOUT)
            try:
                started = time.monotonic()
                next_rss: float | None = None  # from the first stats message: the model loaded, frames flowing
                stop_at = started + seconds
                while time.monotonic() < stop_at and live.poll() is None:
                    if next_rss is not None and time.monotonic() >= next_rss:
                        rss.append((round(time.monotonic() - started), round(rss_mb(live.pid), 1)))
                        next_rss += 60
                    try:
                        message = json.loads(ws.recv(timeout=0.5))
                    except TimeoutError:
                        continue
                    now = time.time()
                    if message["type"] == "stats" and next_rss is None:
                        next_rss = time.monotonic() + WARM_SECONDS
                    if message["type"] == "event" and message.get("confirmed_at"):
                        confirm.append(seconds_since(message["confirmed_at"], now))
                        first_frame.append(seconds_since(message["timestamp"], now))
                    elif message["type"] == "label" and message.get("window_end_at"):
                        labels.append(seconds_since(message["window_end_at"], now))
                        last_label = message
                if live.poll() is None:
                    rss.append((round(time.monotonic() - started), round(rss_mb(live.pid), 1)))
                live.send_signal(signal.SIGTERM)
                live.wait(timeout=120)
            finally:
                if live.poll() is None:
                    live.kill()
    summary = json.loads(log_path.read_text().strip().splitlines()[-1])
    return {
        "events_received": len(confirm),
        "confirm_to_browser": percentiles(confirm),
        "first_frame_to_browser": percentiles(first_frame),
        "labels": {"window_end_to_browser": percentiles(labels), "vlm_delay_s": vlm_delay,
                   "last": {k: last_label.get(k) for k in ("label", "source", "dropped")} if last_label else None,
                   **(summary.get("labels") or {})} if label else None,
        "live_frames": summary.get("frames"), "live_dropped": summary.get("dropped"),
        "live_detection_fps_last": summary.get("detection_fps"),
        "rss_start_mb": rss[0][1] if rss else None, "rss_end_mb": rss[-1][1] if rss else None,
        "rss_by_second": rss,
    }


def looped(video: Path, minutes: float) -> Path:
    """The video repeated (stream copy, no re-encoding) to last at least `minutes`: a long run from a short render."""
    from detection.pipeline.probe import probe_video

    duration = probe_video(str(video), ffprobe="ffprobe").duration or 1.0
    target = video.with_name(f"{video.stem}-loop{minutes:g}m.mkv")
    if not target.exists():
        loops = int(minutes * 60 // duration)
        subprocess.run(["ffmpeg", "-v", "error", "-y", "-stream_loop", str(loops), "-i", str(video), "-c", "copy",
                        str(target)], check=True)
    return target


def slow_detector(video: Path, seconds: float, fps: float, delay: float) -> dict[str, object]:
    from detection.pipeline.live import LiveLoop, RealtimeFileSource
    from detection.pipeline.types import Event

    class SlowRun:
        def feed(self, batch: object) -> None:
            time.sleep(delay)

        def take_new_events(self) -> list[Event]:
            return []

        def finish(self) -> None:
            pass

    source = RealtimeFileSource(video, detection_fps=fps)
    loop = LiveLoop(source=source, run=SlowRun(), on_events=lambda _: None, batch_size=1)
    timer = __import__("threading").Timer(seconds, loop.stop)
    timer.start()
    started = time.monotonic()
    stats = loop.run_until_stopped()
    timer.cancel()
    return {"slow_seconds_per_frame": delay, "wall_s": round(time.monotonic() - started, 1), "frames_fed": stats.frames,
            "frames_dropped": stats.dropped, "video_time_reached": round(stats.video_time, 1),
            "last_latency_ms": None if stats.latency_seconds is None else round(stats.latency_seconds * 1000)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--video")
    parser.add_argument("--render", help="render a 720p30 session into this folder first")
    parser.add_argument("--minutes", type=float, default=2.0)
    parser.add_argument("--loop-minutes", type=float, default=0.0, help="play the video repeated to last this long")
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the live process runs")
    parser.add_argument("--detection-fps", type=float, default=5.0)
    parser.add_argument("--no-label", action="store_true", help="without live labelling")
    parser.add_argument("--vlm-delay", type=float, default=1.0, help="the fake VLM's seconds per answer")
    parser.add_argument("--slow", type=float, default=0.5, help="the stand-in detector's seconds per frame")
    parser.add_argument("--no-slow", action="store_true", help="skip the slow-detector run")
    args = parser.parse_args()
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")
    if args.render:
        import django

        django.setup()
        from detection.render.session import render_session

        args.video = str(render_session(out_dir=args.render, seconds=args.minutes * 60, fps=30, size=(1280, 720),
                                        seed=11, name="live-bench").video)
    if not args.video:
        parser.error("--video or --render is needed")
    video = Path(args.video).resolve()
    if args.loop_minutes:
        video = looped(video, args.loop_minutes)
    print(f"video {video}, {os.cpu_count()} CPUs, load {os.getloadavg()[0]:.1f}, detection {args.detection_fps:g} fps",
          flush=True)
    print(json.dumps({"end_to_end": end_to_end(video, args.seconds, args.detection_fps, label=not args.no_label,
                                               vlm_delay=args.vlm_delay)}, indent=2), flush=True)
    if not args.no_slow:
        print(json.dumps({"slow_detector": slow_detector(video, 20.0, args.detection_fps, args.slow)}, indent=2))


if __name__ == "__main__":
    main()
