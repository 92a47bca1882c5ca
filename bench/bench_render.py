"""Demo-footage render speed: video seconds per wall-clock second (1080p30 by default).

Run: .venv/bin/python bench/bench_render.py [--seconds 120] [--resolution 1920x1080] [--fps 30] [--vfr]
Renders demo pacing (raids 1-3 min) into a temporary folder with the default x264
preset, then prints speed, frames per second and file size. The issue's target: a
10-minute 1080p30 render in a few minutes on 2 cores, i.e. a speed of 3x or more.
"""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from datetime import datetime, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from detection.render.session import render_session  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=120)
    parser.add_argument("--resolution", default="1920x1080")
    parser.add_argument("--fps", type=int, default=30)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--vfr", action="store_true")
    parser.add_argument("--preset", default="ultrafast")
    args = parser.parse_args()
    width, height = (int(v) for v in args.resolution.split("x"))
    with tempfile.TemporaryDirectory(prefix="vodscope-bench-render-") as out:
        cpu = time.process_time()
        result = render_session(out_dir=out, seconds=args.seconds, fps=args.fps, size=(width, height), seed=args.seed,
                                started_at=datetime(2026, 1, 1, 20, 0, tzinfo=timezone.utc), vfr=args.vfr, name="bench",
                                preset=args.preset)
        python_cpu = time.process_time() - cpu
        size_mb = result.video.stat().st_size / 1e6
    print(f"{args.resolution}@{args.fps}{' VFR' if args.vfr else ''}, {args.seconds:g} s of demo footage, preset {args.preset}, "
          f"{os.cpu_count()} CPUs (load average now {os.getloadavg()[0]:.1f})")
    print(f"  wall {result.wall_seconds:.1f} s -> speed {result.speed:.2f}x real time ({result.frames / result.wall_seconds:.0f} frames/s)")
    print(f"  Python painting/compositing CPU {python_cpu:.1f} s; file {size_mb:.1f} MB")
    print(f"  a 10-minute render would take about {600 / result.speed / 60:.1f} min")


if __name__ == "__main__":
    main()
