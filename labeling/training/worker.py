"""Runs scripts/train_worker.py in the training venv and hands its JSON lines over one at a time.

The worker's stdout carries only its protocol (one JSON object a line, see the script's docstring);
its stderr, ultralytics' chatter, goes to a log file beside the run, so neither pipe can fill up and
stall it. `lines()` waits at most `poll_seconds` for the next line and yields None when none came, so
the caller can look at its job (cancelled?) between epochs that take minutes.
"""
from __future__ import annotations

import json
import logging
import queue
import subprocess
import threading
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import IO, Any

from django.conf import settings

from .params import TrainError

logger = logging.getLogger(__name__)

LOG_TAIL_CHARS = 1500


def train_python() -> Path:
    """The training venv's interpreter (`scripts/setup.sh train` makes it); VODSCOPE_TRAIN_PYTHON overrides."""
    return Path(settings.VODSCOPE_TRAIN_PYTHON)


def train_python_check() -> Path:
    python = train_python()
    if not python.is_file():
        raise TrainError(f"no training environment at {python}: run `scripts/setup.sh train` (torch, ultralytics)")
    return python


class WorkerRun:
    def __init__(self, args: Sequence[str], *, log_path: Path, stop_file: Path, script: Path | None = None) -> None:
        self.stop_file = stop_file
        self.log_path = log_path
        # VODSCOPE_TRAIN_WORKER: a stand-in speaking the same protocol (the tests' fake worker).
        command = [str(train_python_check()), str(script or settings.VODSCOPE_TRAIN_WORKER),
                   *args]
        self._log: IO[bytes] = log_path.open("wb")
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=self._log, stdin=subprocess.DEVNULL)
        self._lines: queue.Queue[bytes | None] = queue.Queue()
        self._reader = threading.Thread(target=self._read, daemon=True, name=f"train-worker-{self.process.pid}")
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._lines.put(line)
        self._lines.put(None)

    def lines(self, *, poll_seconds: float = 1.0) -> Iterator[dict[str, Any] | None]:
        """Each protocol line as a dict, None after `poll_seconds` without one; ends when the worker closes stdout."""
        while True:
            try:
                raw = self._lines.get(timeout=poll_seconds)
            except queue.Empty:
                yield None
                continue
            if raw is None:
                return
            try:
                message = json.loads(raw)
            except ValueError:
                logger.warning("training worker: not a protocol line: %r", raw[:200])
                continue
            if isinstance(message, dict):
                yield message

    def request_stop(self) -> None:
        """The worker leaves its training loop at the next batch when it sees this file."""
        self.stop_file.touch()

    def wait(self, timeout: float | None = None) -> int:
        try:
            code = self.process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            code = self.process.wait()
        return code

    def close(self) -> None:
        """Whatever happened: no process left running, no file left open."""
        if self.process.poll() is None:
            self.process.kill()
        self.process.wait()
        self._log.close()

    def log_tail(self) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return text[-LOG_TAIL_CHARS:].strip()
