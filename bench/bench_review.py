"""Review page and keyboard actions on a recording with 2,000 events: server time and SQL queries.

Run: .venv/bin/python bench/bench_review.py [--events 2000] [--runs 30]
Embedded (SQLite in a temporary VODSCOPE_HOME) unless DATABASE_URL is set. Times are the
Django handler's (middleware, view, template), measured in-process with the test client.
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("VODSCOPE_HOME", tempfile.mkdtemp(prefix="vodscope-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.db import connection  # noqa: E402
from django.http import HttpResponse  # noqa: E402
from django.test import Client  # noqa: E402
from django.test.utils import CaptureQueriesContext  # noqa: E402

from detection.models import DetectedEvent, Recording  # noqa: E402

HTMX = {"HX-Request": "true"}
KINDS: list[tuple[str, dict[str, object]]] = [
    ("kill", {"enemy_type": "scav", "weapon": "AKM", "headshot": False}),
    ("state_transition", {"from_state": "stash", "to_state": "pre_raid"}),
    ("raid_start", {"map_name": "customs", "character_type": "pmc", "game_mode": "pve"}),
    ("raid_end", {"outcome": "survived", "extract_location": "crossroads"}),
]


def seed(count: int) -> tuple[Recording, Client]:
    call_command("migrate", verbosity=0)
    user = get_user_model().objects.create_user(f"bench-{time.time_ns()}", password="x")
    recording = Recording.objects.create(owner=user, title="3-hour bench", duration_seconds=3 * 3600, avg_fps=30)
    DetectedEvent.objects.bulk_create(
        DetectedEvent(
            recording=recording,
            event_id=f"bench-{i:05d}",
            event_type=KINDS[i % 4][0] if i % 3 else "kill",
            data=dict(KINDS[i % 4][1] if i % 3 else KINDS[0][1]),
            video_offset_seconds=3 * 3600 * i / count,
            confidence=0.55 if i % 5 == 0 else 0.93,
            thumbnail=f"thumbnails/bench/{i:05d}.jpg",
        )
        for i in range(count)
    )
    client = Client()
    client.force_login(user)
    return recording, client


def measure(label: str, runs: int, call: Callable[[int], object]) -> dict[str, float]:
    call(0)  # warm the template cache and connection
    times, queries = [], []
    for i in range(1, runs + 1):
        with CaptureQueriesContext(connection) as captured:
            start = time.perf_counter()
            response = call(i)
            times.append((time.perf_counter() - start) * 1000)
        assert getattr(response, "status_code", 200) == 200, (label, response)
        queries.append(len(captured.captured_queries))
    times.sort()
    row = {
        "median_ms": statistics.median(times),
        "p95_ms": times[max(0, int(len(times) * 0.95) - 1)],
        "max_queries": max(queries),
    }
    print(f"{label:<34} median {row['median_ms']:7.1f} ms   p95 {row['p95_ms']:7.1f} ms   queries {row['max_queries']}")
    return row


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=30)
    args = parser.parse_args()
    recording, client = seed(args.events)
    base = f"/recordings/{recording.pk}/review/"
    ids = list(DetectedEvent.objects.filter(recording=recording).order_by("pk").values_list("pk", flat=True))
    print(f"{connection.vendor}, {args.events} events, {args.runs} runs each")
    page = measure("review page (all events)", args.runs, lambda i: client.get(base))
    measure("filtered list fragment (low)", args.runs, lambda i: client.get(base + "?band=low", headers={**HTMX, "HX-Target": "event-list"}))
    measure("approve (a)", args.runs, lambda i: client.post(f"{base}events/{ids[i]}/approve/", headers=HTMX))
    measure("delete (d)", args.runs, lambda i: client.post(f"{base}events/{ids[100 + i]}/delete/", headers=HTMX))
    form = {"event_type": "kill", "video_offset_seconds": "12.5", "kill-enemy_type": "boss", "kill-weapon": "SVDS"}
    measure("edit save (e, Enter)", args.runs, lambda i: client.post(f"{base}events/{ids[200 + i]}/edit/", form, headers=HTMX))
    measure("undo (u, re-renders the list)", min(args.runs, 10), lambda i: client.post(f"{base}undo/", headers=HTMX))
    big = Path(os.environ["VODSCOPE_HOME"]) / "bench-4gib.mp4"
    with big.open("wb") as handle:  # sparse: the size of a 3-hour recording, none of the disk
        handle.truncate(4 * 1024**3)
    Recording.objects.filter(pk=recording.pk).update(source_path=str(big))
    step = (4 * 1024**3 - 2**20) // (args.runs + 1)

    def seek(i: int) -> object:
        start = i * step
        response = client.get(base + "video/", HTTP_RANGE=f"bytes={start}-{start + 2**20 - 1}")
        assert response.status_code == 206 and len(response.getvalue()) == 2**20
        return HttpResponse()

    measure("video seek: 1 MiB range of 4 GiB", args.runs, seek)
    ok = page["median_ms"] < 300
    print(f"target: page < 300 ms {'met' if ok else 'MISSED'}; actions < 100 ms: see above")


if __name__ == "__main__":
    main()
