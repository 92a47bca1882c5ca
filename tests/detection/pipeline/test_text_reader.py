"""The PP-OCR reader on drawn crops: a probe's read recognises only crops whose detector finds a wide line."""
from __future__ import annotations

import sys
import threading
from types import SimpleNamespace

import cv2
import numpy as np
import pytest

from detection.pipeline import text
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


def test_a_crop_with_a_wide_line_is_detected_once_not_once_to_look_and_again_to_read() -> None:
    reader = RapidTextReader(cache_size=0)
    image = notification("ELIMINATED")
    reader.read(image)  # loads the engine
    detector = reader.engine().text_det
    runs = []
    real_run = type(detector).__call__

    def counted(self: object, *args: object, **kwargs: object) -> object:
        runs.append(1)
        return real_run(self, *args, **kwargs)

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(type(detector), "__call__", counted)
        lines = reader.read_if_line(image, min_aspect=2.5)
    assert any("ELIMINATED" in line.text for line in lines) and len(runs) == 1


def test_a_scene_without_a_wide_line_is_passed_over_and_not_mistaken_for_a_plain_read() -> None:
    reader = RapidTextReader()
    scene = notification("")
    scene[150:175, 500:520] = 240  # a short bright blot: the detector may call it a glyph
    assert reader.read_if_line(scene, min_aspect=2.5) == []
    assert reader.lines_passed_over == 1 and reader.calls == 0
    reader.read(scene)  # the cache keeps the two kinds of read apart
    assert reader.calls == 1
    assert reader.read_if_line(scene, min_aspect=2.5) == [] and reader.cache_hits == 1


def test_threads_sharing_one_reader_never_trip_over_its_cache(monkeypatch: pytest.MonkeyPatch) -> None:
    """The process shares one reader (the live worker runs sessions in threads): reads that fill and
    evict its cache at once, each thread's crops read back as themselves."""
    def fake_engine(engine: object, image: np.ndarray, side: int, *, min_aspect: float = 0.0) -> SimpleNamespace:
        return SimpleNamespace(boxes=[[(0, 0), (9, 0), (9, 3), (0, 3)]], txts=[f"SHADE{int(image[0, 0, 0])}"], scores=[1.0])

    monkeypatch.setattr(text, "_engine", lambda min_score, threads, text_detector=None: None)
    monkeypatch.setattr(text, "_run_engine", fake_engine)
    previous = sys.getswitchinterval()
    sys.setswitchinterval(1e-6)  # threads change hands mid-lookup, as they may under load
    reader = RapidTextReader(cache_size=2)
    failures: list[BaseException] = []

    def work(offset: int) -> None:
        try:
            for i in range(300):
                shade = (offset + i) % 6 * 45  # shades the cache tells apart, more of them than it holds
                lines = reader.read(np.full((40, 60, 3), shade, np.uint8))
                assert [line.text for line in lines] == [f"SHADE{shade}"]
        except BaseException as error:  # reported by the main thread
            failures.append(error)

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        sys.setswitchinterval(previous)
    assert failures == []
    assert reader.calls + reader.cache_hits == 1200


def test_each_line_is_recognised_at_its_own_width_not_padded_to_the_widest(monkeypatch: pytest.MonkeyPatch) -> None:
    """Recognition costs what its input's width does: `PMC` under `CHOOSE YOUR CHARACTER` is read alone,
    narrower than rapidocr's default 320 px, not padded to the title's width in one batch."""
    reader = RapidTextReader(cache_size=0)
    image = np.full((200, 900, 3), 25, np.uint8)
    cv2.putText(image, "CHOOSE YOUR CHARACTER", (20, 60), cv2.FONT_HERSHEY_SIMPLEX, 1.5, (235, 235, 235), 3)
    cv2.putText(image, "PMC", (20, 160), cv2.FONT_HERSHEY_SIMPLEX, 1.5, (235, 235, 235), 3)
    reader.read(image)  # loads the engine's models
    recogniser = reader.engine().text_rec.session
    shapes: list[tuple[int, ...]] = []
    real_run = type(recogniser).__call__

    def recorded(self: object, batch: np.ndarray) -> object:
        shapes.append(batch.shape)
        return real_run(self, batch)

    monkeypatch.setattr(type(recogniser), "__call__", recorded)
    lines = [line.text for line in reader.read(image)]
    assert lines == ["CHOOSE YOUR CHARACTER", "PMC"]
    assert len(shapes) >= 2 and {shape[0] for shape in shapes} == {1}
    assert min(shape[3] for shape in shapes) < 320 < max(shape[3] for shape in shapes)


def test_lines_are_found_where_a_read_finds_them_without_recognising_them() -> None:
    image = np.full((300, 900, 3), 40, np.uint8)
    for row, word in enumerate(("KILL LIST", "PMC  M4A1", "SCAV  MOSIN")):
        cv2.putText(image, word, (60, 70 + 80 * row), cv2.FONT_HERSHEY_SIMPLEX, 1.4, (235, 235, 235), 3)
    reader = RapidTextReader(cache_size=0)
    found = reader.find_lines(image, max_side=960)
    assert reader.calls == 0
    read = [line.box for line in reader.read(image, max_side=960)]
    assert len(found) == len(read) >= 3
    assert all(abs(f - r) <= 3 for f, r in zip(sorted(b[1] for b in found), sorted(b[1] for b in read)))
    assert reader.find_lines(np.full((300, 900, 3), 40, np.uint8)) == []
    assert reader.find_lines(np.zeros((0, 0, 3), np.uint8)) == []
