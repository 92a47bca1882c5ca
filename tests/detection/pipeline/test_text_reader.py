"""The PP-OCR reader on drawn crops: a probe's read recognises only crops whose detector finds a wide line."""
from __future__ import annotations

import cv2
import numpy as np
import pytest

from detection.pipeline.text import RapidTextReader

pytestmark = pytest.mark.pure


def notification(word: str) -> np.ndarray:
    """A kill-feed corner of a busy scene: blots of scenery, and `word` drawn over them when given."""
    image = np.full((270, 826, 3), 70, np.uint8)
    cv2.circle(image, (120, 200), 28, (210, 210, 210), -1)
    cv2.rectangle(image, (700, 40), (740, 80), (20, 20, 20), -1)
    if word:
        cv2.putText(image, word, (300, 90), cv2.FONT_HERSHEY_SIMPLEX, 1.6, (235, 235, 235), 3)
    return image


def test_a_wide_line_is_recognised_as_a_plain_read_would() -> None:
    reader = RapidTextReader(cache_size=0)
    image = notification("ELIMINATED")
    assert [line.text for line in reader.read_if_line(image, min_aspect=2.5)] == [line.text for line in reader.read(image)]
    assert any("ELIMINATED" in line.text for line in reader.read(image))
    assert reader.lines_passed_over == 0


def test_a_scene_without_a_wide_line_is_passed_over_and_not_mistaken_for_a_plain_read() -> None:
    reader = RapidTextReader()
    scene = notification("")
    scene[150:175, 500:520] = 240  # a short bright blot: the detector may call it a glyph
    assert reader.read_if_line(scene, min_aspect=2.5) == []
    assert reader.lines_passed_over == 1 and reader.calls == 0
    reader.read(scene)  # the cache keeps the two kinds of read apart
    assert reader.calls == 1
    assert reader.read_if_line(scene, min_aspect=2.5) == [] and reader.cache_hits == 1
