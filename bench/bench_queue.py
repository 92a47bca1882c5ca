"""Active-learning queue: time to score, deduplicate, cap and page 5,000 candidate frames.

Run: .venv/bin/python bench/bench_queue.py [--candidates 5000] [--runs 20]
Embedded (SQLite in a temporary VODSCOPE_HOME) unless DATABASE_URL is set. Two figures: the
selector's (labeling.datasets.queue_selector.queue_page: both queries and the pure scoring), and the
whole queue page (/recordings/queue/) through Django's test client as a logged-in owner (the
selector, the cards' frames and boxes, the template), with the page's cost as a ratio of the selector's.
Target: the page under 300 ms for 5,000 candidates.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("VODSCOPE_HOME", tempfile.mkdtemp(prefix="vodscope-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402
from django.test import Client  # noqa: E402

from detection.models import Recording  # noqa: E402
from labeling.datasets.queue_selector import queue_page  # noqa: E402
from labeling.models import BoxAnnotation, FrameAnnotation  # noqa: E402

CLASSES = ["kill_notification", "death_screen", "gameplay_hud", "map_select", "survived_screen"]


def seed(count: int) -> Any:
    """The candidates (proposed boxes on one in five) and a labelled frame; the owner of it all."""
    call_command("migrate", verbosity=0)
    rng = random.Random(7)
    user = get_user_model().objects.create_user(f"bench-{time.time_ns()}", password="x")
    recordings = [Recording.objects.create(owner=user, title=f"bench {i}", avg_fps=30) for i in range(10)]
    FrameAnnotation.objects.bulk_create(
        FrameAnnotation(
            recording=recordings[i % len(recordings)], frame_number=i * 30, video_offset_seconds=float(i),
            status=FrameAnnotation.Status.CANDIDATE, confidence=rng.uniform(0.3, 1.0), rejected=rng.random() < 0.05,
            label=rng.choice(CLASSES), phash=f"{rng.getrandbits(64):016x}",
        )
        for i in range(count)
    )
    labelled = FrameAnnotation.objects.create(recording=recordings[0], frame_number=10**7, video_offset_seconds=0.0)
    BoxAnnotation.objects.bulk_create(
        BoxAnnotation(frame=labelled, label=CLASSES[i % 3], x0=0, y0=0, x1=0.1, y1=0.1) for i in range(300)
    )
    BoxAnnotation.objects.bulk_create(
        BoxAnnotation(frame_id=frame_id, label=label, x0=0.2, y0=0.2, x1=0.4, y1=0.3)
        for frame_id, label in FrameAnnotation.objects.filter(status=FrameAnnotation.Status.CANDIDATE)
        .values_list("id", "label")[::5]
    )
    return user


def timed(run: Callable[[], object], runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        run()
        times.append((time.perf_counter() - start) * 1000)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    user = seed(args.candidates)
    page = queue_page(page=1, per_page=50)
    selector = timed(lambda: queue_page(page=1, per_page=50), args.runs)
    print(f"queue selector over {args.candidates} candidates ({page.total} picked, {len(page.picks)} shown): "
          f"median {statistics.median(selector):.1f} ms, max {max(selector):.1f} ms over {args.runs} runs")
    client = Client()
    client.force_login(user)
    response = client.get("/recordings/queue/")
    assert response.status_code == 200, response.status_code
    cards = response.content.decode().count('class="qcard')
    whole = timed(lambda: client.get("/recordings/queue/"), args.runs)
    print(f"queue page (test client, {cards} cards): median {statistics.median(whole):.1f} ms, "
          f"max {max(whole):.1f} ms over {args.runs} runs; "
          f"{statistics.median(whole) / statistics.median(selector):.2f} x the selector")


if __name__ == "__main__":
    main()
