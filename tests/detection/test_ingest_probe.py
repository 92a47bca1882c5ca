"""Fingerprint and ffprobe parsing: no database involved."""
from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest

from detection.services.ingest import file_fingerprint
from detection.pipeline.probe import creation_time, probe_video
from tests.conftest import render_test_video

pytestmark = pytest.mark.pure


def test_fingerprint_reads_head_and_tail_only(tmp_path):
    big = tmp_path / "big.bin"
    with big.open("wb") as handle:
        handle.truncate(64 * 1024 * 1024)
    before = file_fingerprint(big)
    with big.open("r+b") as handle:
        handle.seek(32 * 1024 * 1024)
        handle.write(b"middle changes are not sampled")
    assert file_fingerprint(big) == before
    with big.open("r+b") as handle:
        handle.seek(-10, os.SEEK_END)
        handle.write(b"tail moves")
    assert file_fingerprint(big) != before


def test_vfr_is_detected(tmp_path):
    steady = probe_video(render_test_video(tmp_path / "cfr.mkv", seconds=3))
    varying = probe_video(render_test_video(tmp_path / "vfr.mkv", seconds=3, vfr=True))
    assert not steady.is_vfr
    assert varying.is_vfr


def test_creation_time_placeholders_are_ignored():
    assert creation_time({"creation_time": "1970-01-01T00:00:00.000000Z"}) is None
    assert creation_time({"creation_time": "garbage"}) is None
    assert creation_time({"CREATION_TIME": "2026-03-01T18:30:00"}) == datetime(2026, 3, 1, 18, 30, tzinfo=UTC)
