"""bench/bench_loop.py's scripted reviewer: the boxes it draws are the renderer's, and it accepts only proposals on them."""
from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

pytestmark = pytest.mark.pure


def bench_loop() -> ModuleType:
    path = Path(__file__).resolve().parents[2] / "bench" / "bench_loop.py"
    spec = importlib.util.spec_from_file_location("bench_loop", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("bench_loop", module)
    spec.loader.exec_module(module)
    return module


def test_truth_boxes_follow_the_timeline_screen_by_screen() -> None:
    loop = bench_loop()
    boxes = loop.TruthBoxes(loop.RenderSpec("t", "classic", 4101, 40))
    seen: dict[str, list[dict[str, Any]]] = {}
    for number in range(0, len(boxes.times), 15):
        seen.setdefault(boxes.timeline.segment_at(boxes.times[number]).screen, boxes(number))
    assert seen["black"] == []
    assert [b["label"] for b in seen["raid"]][:1] == ["gameplay_hud"]
    assert [b["label"] for b in seen["stash"]] == ["stash_screen"]
    for drawn in seen.values():
        for box in drawn:
            x0, y0, x1, y1 = box["box"]
            assert 0 <= x0 < x1 <= 1 and 0 <= y0 < y1 <= 1


def test_proposals_are_accepted_only_when_class_and_place_match() -> None:
    loop = bench_loop()
    truth = [{"label": "gameplay_hud", "box": [0.1, 0.9, 0.7, 1.0]}, {"label": "kill_notification", "box": [0.6, 0.1, 0.8, 0.2]}]
    assert loop.boxes_agree(list(reversed(truth)), truth)
    assert not loop.boxes_agree(truth[:1], truth)  # a missed kill notification
    assert not loop.boxes_agree([{**truth[0], "label": "stash_screen"}, truth[1]], truth)
    assert not loop.boxes_agree([{**truth[0], "box": [0.1, 0.5, 0.7, 0.6]}, truth[1]], truth)
    assert loop.boxes_agree([], [])
