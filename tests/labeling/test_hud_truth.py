"""The renderer's truth carries the HUD's health and shield (the OCR fallback is measured against it)."""
from __future__ import annotations

import random
from datetime import UTC, datetime

import pytest

from detection.render.profile import load_profile
from detection.render.timeline import QUICK_PACING, plan_session
from detection.render.truth import truth_log
from detection.render.writer import frame_times

pytestmark = pytest.mark.pure


def test_truth_metadata_lists_each_hud_change_with_health_and_shield():
    timeline = plan_session(40, load_profile(), random.Random(3), QUICK_PACING)
    times = frame_times(40, 30, vfr=False, rng=random.Random(0))
    log = truth_log(timeline, times, started_at=datetime(2026, 1, 1, tzinfo=UTC), metadata={})
    hud = log.metadata["hud"]
    assert hud and hud == [[round(h.start, 3), h.hp, h.shield] for h in timeline.hud]
    assert all(1 <= hp <= 100 and 0 <= shield <= 100 for _, hp, shield in hud)
    assert [start for start, _, _ in hud] == sorted(start for start, _, _ in hud)
