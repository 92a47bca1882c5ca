#!/usr/bin/env python
"""Soak: one detect job whose worker process is SIGKILLed at random points, five times; its end state must
equal an uninterrupted run's. Prints, per kill, where the run was, how long the job took to resume, and
at the end whether the events (ids, types, data, confidences exactly, offsets, frames, partial flags) and
the rejected observations are identical.

    .venv/bin/python bench/bench_soak_resume.py                       # renders a 2-minute demo video first
    .venv/bin/python bench/bench_soak_resume.py --video /tmp/r/x.mkv --kills 5 --seed 3

One celery worker runs as scripts/run.sh runs it (prefork, one child): each kill takes out the child, the
worker re-queues the job itself and a fresh child resumes it from its checkpoint; the worker is never
restarted. Mode as usual: embedded (SQLite + filesystem broker under a scratch VODSCOPE_HOME) unless
DATABASE_URL and REDIS_URL are set; then give a scratch database, it is migrated and written to.
"""
from __future__ import annotations

import argparse
import os
import random
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--video", type=Path, help="a video to detect in; default: render a demo video")
    parser.add_argument("--minutes", type=float, default=2.0, help="length of the rendered demo video")
    parser.add_argument("--kills", type=int, default=5)
    parser.add_argument("--seed", type=int, default=1, help="chooses the kill points")
    parser.add_argument("--home", type=Path, help="scratch VODSCOPE_HOME; default: a new temporary folder")
    return parser.parse_args()


def prepare_environment(args: argparse.Namespace) -> Path:
    home = args.home or Path(tempfile.mkdtemp(prefix="soak-"))
    os.environ["VODSCOPE_HOME"] = str(home)
    os.environ["VODSCOPE_JOBS_EAGER"] = "0"
    os.environ["DJANGO_SETTINGS_MODULE"] = "project.settings"
    video_dir = (args.video.parent if args.video else home / "library").resolve()
    video_dir.mkdir(parents=True, exist_ok=True)
    os.environ["VODSCOPE_ALLOWED_ROOTS"] = str(video_dir)
    return video_dir


def render(folder: Path, minutes: float) -> Path:
    started = time.perf_counter()
    subprocess.run(
        [sys.executable, "manage.py", "render_demo", "--out", str(folder), "--minutes", str(minutes),
         "--resolution", "1280x720", "--seed", "11", "--name", "soak", "--preset", "veryfast"],
        cwd=ROOT, check=True, stdout=subprocess.DEVNULL,
    )
    print(f"rendered {minutes} min of demo video in {time.perf_counter() - started:.0f} s")
    return folder / "soak.mkv"


def start_worker(log: Path) -> subprocess.Popen[bytes]:
    with log.open("wb") as out:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "project", "worker", "-Q", "detect", "--pool", "prefork",
             "--concurrency", "1", "--loglevel", "INFO", "--without-gossip", "--without-mingle"],
            cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 120
    while b"ready." not in log.read_bytes():
        if worker.poll() is not None or time.monotonic() > deadline:
            raise SystemExit(f"the worker did not start:\n{log.read_text()[-3000:]}")
        time.sleep(0.2)
    return worker


def pool_child(worker: subprocess.Popen[bytes]) -> int:
    """The worker's one pool process; any thread of the worker may have forked it."""
    [child] = {pid for task in Path(f"/proc/{worker.pid}/task").iterdir() for pid in (task / "children").read_text().split()}
    return int(child)


def poll(predicate: Any, timeout: float, step: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise SystemExit("timed out")
        time.sleep(step)


def _reached(job: Any, attempt: int, point: int) -> bool:
    return job.status not in ("queued", "running") or (job.attempts == attempt and job.progress_done >= point)


def end_state(recording: Any) -> tuple[list[tuple[Any, ...]], list[tuple[Any, ...]]]:
    from detection.models import DetectedEvent, RejectedObservation

    events = [
        (e.event_id, e.event_type, e.data, e.confidence, e.video_offset_seconds, e.frame_number, e.partial)
        for e in DetectedEvent.objects.filter(recording=recording).order_by("event_id")
    ]
    rejections = [
        (r.observation_key, r.from_state, r.observed_screen, r.confidence, r.reason)
        for r in RejectedObservation.objects.filter(recording=recording).order_by("observation_key")
    ]
    return events, rejections


def main() -> None:
    args = parse_args()
    video_dir = prepare_environment(args)
    import django

    django.setup()
    from django.conf import settings
    from django.contrib.auth import get_user_model
    from django.core.management import call_command

    from detection.models import Job
    from detection.services.detect import detect_job_start
    from detection.services.ingest import recording_register_path

    call_command("migrate", verbosity=0)
    video = args.video.resolve() if args.video else render(video_dir, args.minutes)
    mode = "production (PostgreSQL + Redis)" if settings.PRODUCTION else "embedded (SQLite + filesystem broker)"
    print(f"mode: {mode}; home {settings.DATA_DIR}; heartbeat {settings.VODSCOPE_JOB_HEARTBEAT_SECONDS} s")
    users = get_user_model().objects
    control_owner, soak_owner = (users.get_or_create(username=name)[0] for name in ("soak-control", "soak-killed"))
    control_rec = recording_register_path(owner=control_owner, path=video)
    soak_rec = recording_register_path(owner=soak_owner, path=video)

    worker = start_worker(Path(settings.DATA_DIR) / "soak-worker.log")
    rng = random.Random(args.seed)
    try:
        control = detect_job_start(recording=control_rec, user=control_owner)
        poll(lambda: Job.objects.get(pk=control.pk).status not in Job.ACTIVE_STATUSES, timeout=3600, step=0.2)
        control.refresh_from_db()
        if control.started_at is None or control.finished_at is None:
            raise SystemExit(f"the control run never ran: {control.status} {control.error}")
        uninterrupted = (control.finished_at - control.started_at).total_seconds()
        print(f"uninterrupted run: {control.status} in {uninterrupted:.1f} s, {control.result.get('events')} events")

        job = detect_job_start(recording=soak_rec, user=soak_owner)
        # Random points of the video, in order: each kill comes once the run has got that far again.
        total = control.progress_total
        points = sorted(int(rng.uniform(0.05, 0.95) * total) for _ in range(args.kills))
        rows = []
        for kill, point in enumerate(points, start=1):
            poll(lambda kill=kill, point=point: _reached(Job.objects.get(pk=job.pk), kill, point), timeout=600)
            state = Job.objects.get(pk=job.pk)
            if state.status != Job.Status.RUNNING:
                print(f"the job ended before kill {kill}")
                break
            child = pool_child(worker)
            os.kill(child, signal.SIGKILL)
            killed = time.monotonic()
            poll(lambda kill=kill: Job.objects.get(pk=job.pk).attempts == kill + 1, timeout=600, step=0.02)
            resumed = time.monotonic() - killed
            checkpoint = state.checkpoint.get("video_time")
            rows.append((kill, state.progress_done, checkpoint, resumed))
        poll(lambda: Job.objects.get(pk=job.pk).status not in Job.ACTIVE_STATUSES, timeout=3600, step=0.2)
        job.refresh_from_db()
        same_worker = worker.poll() is None
    finally:
        worker.send_signal(signal.SIGTERM)
        worker.wait(timeout=60)

    print(f"\n{'kill':>4} {'video s at kill':>16} {'from checkpoint s':>18} {'resumed after s':>16}")
    for kill, done, checkpoint, resumed in rows:
        at = f"{checkpoint:.1f}" if checkpoint is not None else "start"
        print(f"{kill:>4} {done:>16} {at:>18} {resumed:>16.2f}")
    events, rejections = end_state(soak_rec)
    want_events, want_rejections = end_state(control_rec)
    print(f"\nkilled run: {job.status} after {job.attempts} attempts, {len(events)} events "
          f"(uninterrupted: {len(want_events)}); one worker process throughout: {same_worker}")
    print(f"events identical: {events == want_events}; rejected observations identical: "
          f"{rejections == want_rejections}")
    for got, want in zip(events, want_events, strict=False):
        if got != want:
            print(f"  first difference:\n    killed        {got}\n    uninterrupted {want}")
            break
    if job.status != Job.Status.SUCCEEDED or events != want_events or rejections != want_rejections:
        raise SystemExit(1)


if __name__ == "__main__":
    main()
