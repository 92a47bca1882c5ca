"""Live mode, end to end: capture-to-browser latency, frames dropped by a slow detector, memory.

Embedded mode in a fresh data folder, three processes as a user runs them: daphne (web), the live
process playing a rendered session at real time, and a WebSocket client on the overlay feed.

    .venv/bin/python bench/bench_live.py --video var/demo/session.mkv --seconds 120
    .venv/bin/python bench/bench_live.py --render /tmp/live-bench --minutes 2   # render one first

Latency: the client's receipt time of each `event` message minus the event's `timestamp` (the
moment its confirming frame was released by the real-time source, i.e. "captured"). Clocks are the
same machine's. Dropped frames: the same real-time source feeding a stand-in detector that takes
`--slow` seconds a frame.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


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


def end_to_end(video: Path, seconds: float, fps: float) -> dict[str, object]:
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
    port = free_port()
    web = subprocess.Popen([sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "project.asgi:application"],
                           cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    live = None
    latencies: list[float] = []
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise RuntimeError("daphne did not start") from None
                time.sleep(0.2)
        with connect(f"ws://127.0.0.1:{port}/ws/live/overlay/{token}/", origin=Origin(f"http://127.0.0.1:{port}")) as ws:
            live = subprocess.Popen([sys.executable, "manage.py", "live", "--source", str(video), "--realtime",
                                     "--detection-fps", str(fps)], cwd=ROOT, env=env,
                                    stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
            time.sleep(10)  # models loaded, first frames in
            rss_start = rss_mb(live.pid)
            stop_at = time.monotonic() + max(0.0, seconds - 10)
            while time.monotonic() < stop_at and live.poll() is None:
                try:
                    message = json.loads(ws.recv(timeout=0.5))
                except TimeoutError:
                    continue
                if message["type"] == "event" and message.get("timestamp"):
                    captured = datetime.fromisoformat(message["timestamp"].replace("Z", "+00:00")).timestamp()
                    latencies.append(time.time() - captured)
            rss_end = rss_mb(live.pid) if live.poll() is None else 0.0
            live.send_signal(signal.SIGTERM)
            out, _ = live.communicate(timeout=60)
    finally:
        if live is not None and live.poll() is None:
            live.kill()
        web.terminate()
        web.wait(timeout=10)
    summary = json.loads(out.decode().strip().splitlines()[-1])
    ordered = sorted(latencies)
    return {
        "events_received": len(latencies),
        "latency_p50_ms": round(statistics.median(ordered) * 1000) if ordered else None,
        "latency_p95_ms": round(ordered[min(len(ordered) - 1, int(0.95 * len(ordered)))] * 1000) if ordered else None,
        "live_frames": summary.get("frames"), "live_dropped": summary.get("dropped"),
        "live_detection_fps_last": summary.get("detection_fps"),
        "rss_start_mb": round(rss_start, 1), "rss_end_mb": round(rss_end, 1),
    }


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
    parser.add_argument("--seconds", type=float, default=60.0, help="how long the live process runs")
    parser.add_argument("--detection-fps", type=float, default=5.0)
    parser.add_argument("--slow", type=float, default=0.5, help="the stand-in detector's seconds per frame")
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
    print(f"video {video}, {os.cpu_count()} CPUs, detection {args.detection_fps:g} fps")
    print(json.dumps({"end_to_end": end_to_end(video, args.seconds, args.detection_fps)}, indent=2))
    print(json.dumps({"slow_detector": slow_detector(video, 20.0, args.detection_fps, args.slow)}, indent=2))


if __name__ == "__main__":
    main()
