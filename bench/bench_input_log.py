"""Input logs at a long session's size: parse, align, and each window's summary and action heads.

    .venv/bin/python bench/bench_input_log.py [--hours 0.5] [--hz 125]

Writes a synthetic CSV log (a cursor step every 1/hz s, clicks and keys among them), then times
`input_log_read` (streamed from the file, every row validated) against a baseline measured in the same
run: the csv module alone reading the same file. Prints µs per row, the ratio to the baseline, the
alignment, the per-window work for 2-s windows of 5 frames, and the peak memory.
"""
from __future__ import annotations

import argparse
import csv
import resource
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from labeling.inputlog import InputTrack, input_log_read  # noqa: E402
from labeling.inputlog_actions import frame_actions, window_summary  # noqa: E402


def write_log(path: Path, *, rows: int, hz: float) -> None:
    with path.open("w", encoding="utf-8") as out:
        out.write("# screen: 1920x1080\ntime,event,x,y,button,key\n")
        for i in range(rows):
            t = i / hz
            if i % 50 == 0:
                out.write(f"{t:.3f},down,,,left,\n")
            elif i % 50 == 1:
                out.write(f"{t:.3f},up,,,left,\n")
            elif i % 97 == 0:
                out.write(f"{t:.3f},key_down,,,,R\n")
            else:
                out.write(f"{t:.3f},move,{i % 1920},{i % 1080},,\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--hours", type=float, default=0.5)
    parser.add_argument("--hz", type=float, default=125.0)
    args = parser.parse_args()
    rows = int(args.hours * 3600 * args.hz)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "log.csv"
        write_log(path, rows=rows, hz=args.hz)
        started = time.perf_counter()
        with path.open(newline="") as lines:
            baseline_rows = sum(1 for _ in csv.reader(lines))
        baseline = time.perf_counter() - started
        started = time.perf_counter()
        log = input_log_read(path, started_at=None)
        parse = time.perf_counter() - started
    started = time.perf_counter()
    track = InputTrack.aligned(log, offset_seconds=-1.5)
    align = time.perf_counter() - started
    del log
    seconds = rows / args.hz
    starts = [float(s) for s in range(0, int(seconds) - 2, 2)]
    started = time.perf_counter()
    for s in starts:
        window_summary(track, s, s + 2)
        frame_actions(track, [s, s + 0.4, s + 0.8, s + 1.2, s + 1.6], end=s + 2)
    windows = time.perf_counter() - started
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"{rows} rows ({args.hours:g} h at {args.hz:g} Hz); baseline csv.reader {baseline_rows} rows in {baseline:.2f} s")
    print(f"parse {parse:.2f} s = {parse / rows * 1e6:.1f} µs/row = {parse / baseline:.1f} x baseline")
    print(f"align {align:.2f} s; {len(starts)} windows (summary + 5-frame heads) {windows:.2f} s = "
          f"{windows / max(1, len(starts)) * 1000:.2f} ms/window; peak memory {peak:.0f} MB")


if __name__ == "__main__":
    main()
