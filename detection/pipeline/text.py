"""Text reading: PP-OCR (rapidocr's bundled ONNX models) behind `TextReader`, and fuzzy vocabulary matching."""
from __future__ import annotations

import functools
import logging
import math
import re
import threading
from abc import ABC, abstractmethod
from collections import OrderedDict
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np
from rapidfuzz import fuzz

from detection.pipeline.hashing import file_sha256
from detection.pipeline.int8_kernels import int8_convolutions_exact

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class TextLine:
    text: str
    score: float
    # Pixel box within the image that was read: x0, y0, x1, y1.
    box: tuple[int, int, int, int]


class TextReader(ABC):
    @abstractmethod
    def read(self, image: np.ndarray, *, max_side: int | None = None) -> list[TextLine]:
        """Lines of text in a BGR crop, top to bottom. `max_side` overrides the reader's own limit
        on the image's longest side (a whole frame needs more pixels than a tight crop)."""

    def read_if_line(self, image: np.ndarray, *, min_aspect: float) -> list[TextLine]:
        """`read(image)` when the crop may hold a line at least `min_aspect` times as wide as it is tall,
        else nothing. A reader whose text detector runs alone cheaply looks for such a line first: a
        probe of a region that mostly shows the game's scene then pays for the detector, not for
        recognising each blot of scenery as a glyph. This one reads everything."""
        return self.read(image)

    def find_lines(self, image: np.ndarray, *, max_side: int | None = None) -> list[tuple[int, int, int, int]]:
        """Where `read` would find lines (pixel boxes), top to bottom. A reader whose text detector runs alone
        finds them without recognising them: counting rows costs the detector, not a read of every row. This
        one reads them."""
        return [line.box for line in self.read(image, max_side=max_side)]

    def forget(self) -> None:
        """Drop whatever earlier reads left behind (a cache): what follows reads as if from a fresh start."""


_ENGINES: dict[tuple[float, int, str], Any] = {}
# Height (after the detector's scaling) a crop is padded to: the detector's grid is 32 px.
MIN_DETECTOR_HEIGHT = 32
_ENGINE_LOCK = threading.Lock()
_CALL_LOCK = threading.Lock()
# rapidocr's text detection model, and the int8 copy of it Vodscope ships (`detection/quantize.py`,
# `manage.py quantize_ocr`): the detector's convolutions were most of every read, 4-5x faster in int8.
TEXT_DETECTOR = "PP-OCRv6_det_small.onnx"
BUNDLED_TEXT_DETECTOR = Path(__file__).resolve().parent.parent / "bundled" / TEXT_DETECTOR.replace(".onnx", ".int8.onnx")


def installed_text_detector() -> Path:
    """The float text detection model inside the installed rapidocr package."""
    import rapidocr

    return Path(rapidocr.__file__).resolve().parent / "models" / TEXT_DETECTOR


@functools.cache
def int8_text_detector() -> Path | None:
    """The bundled int8 text detector when it was quantized from the installed rapidocr's model (its
    `quantized_from` names that file's sha256) and this CPU sums its int8 products exactly
    (`int8_convolutions_exact`); None otherwise, and rapidocr's own float model reads. An int8 copy of
    another model would detect with weights that no longer match the recogniser; one whose sums
    saturate reads other words than the ones it was measured on."""
    import onnx

    if not BUNDLED_TEXT_DETECTOR.is_file() or not installed_text_detector().is_file():
        return None
    metadata = {p.key: p.value for p in onnx.load(str(BUNDLED_TEXT_DETECTOR), load_external_data=False).metadata_props}
    digest = file_sha256(installed_text_detector())
    if metadata.get("quantized_from") != digest:
        logger.warning("%s was not quantized from the installed rapidocr's %s: reading with the float model "
                       "(`manage.py quantize_ocr` makes a new copy)", BUNDLED_TEXT_DETECTOR.name, TEXT_DETECTOR)
        return None
    if not int8_convolutions_exact():
        logger.warning("this CPU's int8 convolutions saturate (no VNNI): reading with the float text detector, "
                       "not %s", BUNDLED_TEXT_DETECTOR.name)
        return None
    return BUNDLED_TEXT_DETECTOR


def _engine(min_score: float, threads: int, text_detector: Path | None = None) -> Any:
    """Building an engine loads three ONNX sessions: once per process and settings. The detection
    model's size limit differs per crop shape (`read`); it is set per call, not per engine.
    `text_detector`: a model file in place of rapidocr's own (None: its own)."""
    key = (min_score, threads, str(text_detector or ""))
    with _ENGINE_LOCK:
        if key not in _ENGINES:
            from rapidocr import RapidOCR

            params: dict[str, Any] = {
                "Global.log_level": "error",
                "Global.use_cls": False,
                "Global.text_score": min_score,
                # Tight crops must not be upscaled to a 736 px short side: `max` only shrinks.
                "Det.limit_type": "max",
                # rapidocr pads an image wider than 8:1 to a height of a quarter of its width, so a
                # 1920x86 header bar was detected as 1600x400 of mostly border: 0.68 s a read instead
                # of 0.18 s, same words. Wide strips get a longer side instead (`read`), and crops too
                # short for the detector's 32-px grid are padded there.
                "Global.use_vertical_padding": False,
                # Recognition costs what its input's width does. rapidocr pads each batch of lines to its
                # widest and every line to at least 320 px (at 48 px high): a kill notification's `PMC`
                # was read at 320 px, a title's `PMC` `SCAV` buttons at the title's 600. One line at a
                # time, at least 160 px, reads the same words for 30 % less (`bench/README.md`, stop 26).
                "Rec.rec_batch_num": 1,
                "Rec.rec_img_shape": [3, 48, 160],
            }
            if text_detector is not None:
                params["Det.model_path"] = str(text_detector)
            if threads:
                params["EngineConfig.onnxruntime.intra_op_num_threads"] = threads
            with _no_spinning():
                _ENGINES[key] = RapidOCR(params=params)
        return _ENGINES[key]


def _limit_detector(engine: Any, max_side: int) -> None:
    """rapidocr builds its pre-processing from the detector's `limit_side_len` on every call."""
    if engine.text_det is None:  # loaded on the first call, from the config
        engine.cfg.Det.limit_side_len = max_side
    else:
        engine.text_det.limit_side_len = max_side


@dataclass(frozen=True)
class _Detected:
    """The text detector's pass over an image, as rapidocr's steps leave it, and its boxes on the image's pixels."""

    original: np.ndarray
    record: dict[str, Any]
    crops: list[np.ndarray]
    detected: Any
    boxes: Any


def _detect(engine: Any, image: np.ndarray) -> _Detected | None:
    """rapidocr's detection steps (`RapidOCR.run_ocr_steps`) on `image`; None when it finds no text. The
    caller holds `_CALL_LOCK` and has set the detector's limit."""
    from rapidocr.main import RapidOCRError
    from rapidocr.utils.process_img import map_boxes_to_original

    original = engine.load_img(image)
    scaled, record = engine.preprocess_img(original)
    try:
        crops, detected = engine.detect_and_crop(scaled, record)
    except RapidOCRError:  # no text at all
        return None
    boxes = map_boxes_to_original(detected.boxes.copy(), record, *original.shape[:2])
    return _Detected(original, record, crops, detected, boxes)


def _run_engine(engine: Any, image: np.ndarray, max_side: int, *, min_aspect: float = 0.0) -> Any:
    """One read with the detection model's longest side limited to `max_side`. With `min_aspect`,
    the lines are recognised only when the detector finds one at least that long for its
    thickness (None otherwise): rapidocr's own steps (`RapidOCR.run_ocr_steps`, no angle
    classifier), with that check between detection and recognition, so the detector runs once."""
    from rapidocr.ch_ppocr_cls import TextClsOutput
    from rapidocr.ch_ppocr_det import TextDetOutput
    from rapidocr.main import RapidOCRError

    with _CALL_LOCK:
        _limit_detector(engine, max_side)
        if min_aspect <= 0:
            return engine(image, use_rec=True)
        engine.update_params(use_det=True, use_rec=True)
        found = _detect(engine, image)
        if found is None or not _has_line(found.boxes, min_aspect):
            return None
        try:
            recognised = engine.recognize_txt(found.crops)
        except RapidOCRError:
            return TextDetOutput()
        return engine.build_final_output(found.original, found.detected, TextClsOutput(), recognised, found.crops,
                                         found.record)


def _detect_only(engine: Any, image: np.ndarray, max_side: int) -> list[Any]:
    """The text detector's quadrilaterals on `image` (its pixels), nothing recognised."""
    with _CALL_LOCK:
        _limit_detector(engine, max_side)
        found = _detect(engine, image)
    return [] if found is None else list(found.boxes)


@contextmanager
def _no_spinning() -> Iterator[None]:
    """rapidocr builds its onnxruntime sessions with threads that spin for work after each run;
    between reads the decoder and the detector need those cores, so its sessions get them sleeping.
    rapidocr has no setting for it: its session-options builder is wrapped while the engine loads."""
    try:
        from rapidocr.inference_engine.onnxruntime.main import OrtInferSession
    except ImportError:  # another rapidocr layout: keep its defaults
        yield
        return
    original = OrtInferSession.__dict__.get("_init_sess_opts")
    if not isinstance(original, staticmethod):
        yield
        return
    build = original.__func__

    def sleeping(cfg: Any) -> Any:
        options = build(cfg)
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        return options

    setattr(OrtInferSession, "_init_sess_opts", staticmethod(sleeping))
    try:
        yield
    finally:
        setattr(OrtInferSession, "_init_sess_opts", original)


class RapidTextReader(TextReader):
    """PP-OCRv6 small det + rec on a crop; a crop that looks like one read before is not read again.

    One reader serves every thread of a process (`factory.reader_for`; the live worker runs two
    sessions in threads), so its cache is only touched under its lock; the reads themselves are
    serialised by the engine's own lock."""

    def __init__(self, *, max_side: int = 320, min_score: float = 0.5, threads: int = 0, cache_size: int = 256,
                 int8_detector: bool = True) -> None:
        """`int8_detector`: detect text with the bundled int8 copy of rapidocr's detection model when it
        matches the installed one (`int8_text_detector`), else with the float model."""
        self.max_side = max_side
        self.min_score = min_score
        self.threads = threads
        self.text_detector = int8_text_detector() if int8_detector else None
        self.cache_size = cache_size
        self._cache: OrderedDict[int, tuple[tuple[float, ...], np.ndarray, list[TextLine]]] = OrderedDict()
        self._next_key = 0
        self.calls = 0
        self.cache_hits = 0
        self.lines_passed_over = 0  # crops `read_if_line` found no line in worth recognising
        self._cache_lock = threading.Lock()

    def forget(self) -> None:
        with self._cache_lock:
            self._cache.clear()

    def read(self, image: np.ndarray, *, max_side: int | None = None) -> list[TextLine]:
        return self._read(image, max_side=max_side, min_aspect=0.0)

    def read_if_line(self, image: np.ndarray, *, min_aspect: float) -> list[TextLine]:
        return self._read(image, max_side=None, min_aspect=min_aspect)

    def _read(self, image: np.ndarray, *, max_side: int | None, min_aspect: float) -> list[TextLine]:
        if image.size == 0:
            return []
        thumb = thumbnail(image)
        # A crop passed over for want of a wide line is cached apart: a plain read of it may find short lines.
        shape = (*image.shape, min_aspect)
        known = self._cached(shape, thumb)
        if known is not None:
            return known
        padded, top, side = self._detector_view(image, max_side)
        result = _run_engine(self.engine(), padded, side, min_aspect=min_aspect)
        lines: list[TextLine] = []
        if result is not None:
            self.calls += 1
            if getattr(result, "txts", None):
                for text, score, quad in zip(result.txts, result.scores, result.boxes):
                    xs, ys = [p[0] for p in quad], [p[1] - top for p in quad]
                    lines.append(TextLine(str(text), float(score),
                                          (int(min(xs)), int(min(ys)), int(max(xs)), int(max(ys)))))
            lines = reading_order(lines)
        else:
            self.lines_passed_over += 1
        with self._cache_lock:
            self._cache[self._next_key] = (shape, thumb, lines)
            self._next_key += 1
            if len(self._cache) > self.cache_size:
                self._cache.popitem(last=False)
        return lines

    def find_lines(self, image: np.ndarray, *, max_side: int | None = None) -> list[tuple[int, int, int, int]]:
        if image.size == 0:
            return []
        padded, top, side = self._detector_view(image, max_side)
        quads = _detect_only(self.engine(), padded, side)
        boxes = [(int(min(q[:, 0])), int(min(q[:, 1])) - top, int(max(q[:, 0])), int(max(q[:, 1])) - top)
                 for q in (np.asarray(quad) for quad in quads)]
        return sorted(boxes, key=lambda box: (box[1] + box[3]) / 2)

    def engine(self) -> Any:
        return _engine(self.min_score, self.threads, self.text_detector)

    def _detector_view(self, image: np.ndarray, max_side: int | None) -> tuple[np.ndarray, int, int]:
        """The image the text detector gets for a crop (padded to its grid), the rows added above, and
        the longest side it is scaled to. A wide strip (a header bar) shrunk to `max_side` would leave
        its letters a few pixels tall: such crops get a proportionally longer side (320-px steps)."""
        height, width = image.shape[:2]
        aspect = width / max(1, height)
        limit = max_side or self.max_side
        side = limit if aspect <= 4 else min(1600, -(-int(limit * aspect / 4) // 320) * 320)
        padded, top = padded_for_detector(image, side)
        return padded, top, side

    def detector_input(self, image: np.ndarray, *, max_side: int | None = None) -> np.ndarray:
        """The tensor the text detection model runs on when this reader reads `image`: what an int8
        copy's activation ranges are measured on (`detection/quantize.py`)."""
        padded, _, side = self._detector_view(image, max_side)
        engine = self.engine()
        with _CALL_LOCK:
            _limit_detector(engine, side)
            detector = engine._load_det_model()  # rapidocr loads each model on first use
            scaled, _ = engine.preprocess_img(engine.load_img(padded))
            tensor: np.ndarray = detector.get_preprocess()(scaled)
        return tensor

    def _cached(self, shape: tuple[float, ...], thumb: np.ndarray) -> list[TextLine] | None:
        with self._cache_lock:
            for key, (seen_shape, seen, known) in reversed(self._cache.items()):
                if seen_shape == shape and float((np.abs(seen - thumb) > 40).mean()) < 0.002:
                    self._cache.move_to_end(key)
                    self.cache_hits += 1
                    return known
        return None


def _has_line(quads: Any, min_aspect: float) -> bool:
    """Whether any detected quadrilateral is at least `min_aspect` times as long as it is thick."""
    for quad in quads if quads is not None else ():
        points = np.asarray(quad, dtype=np.float32)
        (_, _), (w, h), _ = cv2.minAreaRect(points)
        if min(w, h) > 0 and max(w, h) / min(w, h) >= min_aspect:
            return True
    return False


def padded_for_detector(image: np.ndarray, side: int) -> tuple[np.ndarray, int]:
    """`image` with black rows above and below when, scaled to `side`, it would be under
    MIN_DETECTOR_HEIGHT px high (the detector rounds each side to its 32-px grid: a 15-px strip
    rounds to nothing), and how many rows were added above."""
    height, width = image.shape[:2]
    scale = min(1.0, side / max(1, width, height))
    missing = math.ceil(MIN_DETECTOR_HEIGHT / scale) - height
    if missing <= 0:
        return image, 0
    top = missing // 2
    return cv2.copyMakeBorder(image, top, missing - top, 0, 0, cv2.BORDER_CONSTANT, value=(0, 0, 0)), top


def reading_order(lines: list[TextLine]) -> list[TextLine]:
    """Rows top to bottom, each left to right: OCR may cut `STREETS OF TARKOV` in two at slightly
    different heights, and the halves must come out in reading order."""
    return [line for row in text_rows(lines) for line in row]


def text_rows(lines: list[TextLine], *, within: float = 0.5) -> list[list[TextLine]]:
    """The lines grouped into rows (centres within `within` of a line's height), top to bottom, each left to
    right. A table set tight needs less: on a held-out summary the detector's boxes were 30-38 px tall for rows
    19-22 px apart."""
    ordered: list[list[TextLine]] = []
    for line in sorted(lines, key=lambda item: (item.box[1] + item.box[3]) / 2):
        centre, height = (line.box[1] + line.box[3]) / 2, max(1, line.box[3] - line.box[1])
        if ordered:
            row = ordered[-1]
            row_centre = sum((item.box[1] + item.box[3]) / 2 for item in row) / len(row)
            if abs(centre - row_centre) < within * height:
                row.append(line)
                continue
        ordered.append([line])
    return [sorted(row, key=lambda item: item.box[0]) for row in ordered]


def thumbnail(image: np.ndarray) -> np.ndarray:
    """What the cache compares: half size keeps every letter's strokes (a changed word moves many
    pixels far) while averaging away compression noise (which moves pixels a little)."""
    height, width = image.shape[:2]
    scale = min(0.5, 256 / max(1, width))
    size = (max(1, int(width * scale)), max(1, int(height * scale)))
    return cv2.resize(image, size, interpolation=cv2.INTER_AREA).astype(np.int16)


def normalise(text: str) -> str:
    return re.sub(r"[^A-Z0-9.\-']", "", text.upper())


def candidates(lines: Sequence[str], max_words: int = 3) -> list[str]:
    """Every run of up to `max_words` words, within a line or across neighbouring lines:
    `RAIDER  AK-74M` holds two answers, `STREETS` + `OF TARKOV` one."""
    words = [(index, word) for index, line in enumerate(lines) for word in line.split()]
    found: list[str] = list(lines)
    for size in range(1, max_words + 1):
        for start in range(0, len(words) - size + 1):
            run = words[start : start + size]
            if run[-1][0] - run[0][0] <= 1:
                found.append(" ".join(word for _, word in run))
    return found


@dataclass(frozen=True)
class Match:
    value: str
    score: float
    text: str


def best_match(lines: Sequence[str], vocabulary: Sequence[str], *, cutoff: float) -> Match | None:
    """The vocabulary word most like some candidate text; longer words win ties (AK-74M over AKM)."""
    best: Match | None = None
    keyed = [(word, normalise(word)) for word in vocabulary]
    for text in candidates(lines):
        probe = normalise(text)
        if not probe:
            continue
        for word, key in keyed:
            score = float(fuzz.ratio(probe, key))
            if score < 95 and len(key) >= 3 and key in probe:
                score = 95.0  # OCR ran two words together: `SCAVMOSIN`
            if score < cutoff:
                continue
            if best is None or (score, len(key)) > (best.score, len(normalise(best.value))):
                best = Match(word, score, text)
    return best


def contains(lines: Sequence[str], phrase: str, *, cutoff: float = 80) -> bool:
    """Whether some line, or two neighbouring lines together (a phrase the OCR cut in two), hold
    `phrase`. A line shorter than the phrase must be most of it: the stash tab `CHARACTER` lies
    wholly inside `CHOOSE YOUR CHARACTER`, and a partial match alone called the stash header the
    character select too."""
    key = normalise(phrase)
    texts = [text for text in (normalise(line) for line in lines) if text]
    pairs = [a + b for a, b in zip(texts, texts[1:])]
    return any(_holds(key, text) >= cutoff for text in texts + pairs)


def _holds(key: str, text: str) -> float:
    return float(fuzz.partial_ratio(key, text) if len(text) >= len(key) else fuzz.ratio(key, text))


def text_after(lines: Sequence[str], phrase: str) -> list[str]:
    """What follows `phrase` (e.g. `KILLED BY:`) on the line that best holds it, then the lines after."""
    key = normalise(phrase)
    phrase_words = [normalise(w) for w in phrase.split() if normalise(w)]
    scored = [(fuzz.partial_ratio(key, normalise(line)), -i) for i, line in enumerate(lines) if normalise(line)]
    if not scored or max(scored)[0] < 85:
        return list(lines)
    index = -max(scored)[1]
    tail = [w for w in lines[index].split() if normalise(w) and
            not any(fuzz.ratio(normalise(w).rstrip(":"), p) >= 75 for p in phrase_words)]
    return ([" ".join(tail)] if tail else []) + list(lines[index + 1 :])
