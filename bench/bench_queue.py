"""Active-learning queue: time to score, deduplicate, cap and page 5,000 candidate frames.

Run: .venv/bin/python bench/bench_queue.py [--candidates 5000] [--runs 20]
Embedded (SQLite in a temporary VODSCOPE_HOME) unless DATABASE_URL is set. The figure is the
selector's (labeling.datasets.queue_selector.queue_page): both queries and the pure scoring.
Target: under 300 ms for 5,000 candidates.
"""
from __future__ import annotations

import argparse
import os
import random
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("VODSCOPE_HOME", tempfile.mkdtemp(prefix="vodscope-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402

from detection.models import Recording  # noqa: E402
from labeling.datasets.queue_selector import queue_page  # noqa: E402
from labeling.models import BoxAnnotation, FrameAnnotation  # noqa: E402

CLASSES = ["kill_notification", "death_screen", "gameplay_hud", "map_select", "survived_screen"]


def seed(count: int) -> None:
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


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--candidates", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=20)
    args = parser.parse_args()
    seed(args.candidates)
    times = []
    for _ in range(args.runs):
        start = time.perf_counter()
        page = queue_page(page=1, per_page=50)
        times.append((time.perf_counter() - start) * 1000)
    print(f"queue page over {args.candidates} candidates ({page.total} picked, {len(page.picks)} shown): "
          f"median {statistics.median(times):.1f} ms, max {max(times):.1f} ms over {args.runs} runs")


if __name__ == "__main__":
    main()
