"""Confidence calibration: monotone maps fitted on right/wrong events, read from data tied to the
model's digest, the identity (said in the log) whenever the data does not fit the model."""
from __future__ import annotations

import hashlib
import json
import logging
import random
from pathlib import Path

import numpy as np
import pytest

from detection.pipeline.assembly import INFERRED_DISCOUNT, EventAssembler
from detection.pipeline.calibration import (
    IDENTITY,
    Calibration,
    CalibrationError,
    Curve,
    calibration_for_detector,
    calibration_for_model,
    calibration_path,
    fit_calibration,
    fit_curve,
    load_calibration,
)
from detection.pipeline.detector import DetectorConfig, OnnxDetector
from detection.pipeline.fields import FieldReader, Reading
from detection.pipeline.profile import load_profile
from detection.pipeline.readings import Pending
from detection.pipeline.state import Draft
from detection.pipeline.temporal import Confirmed
from detection.pipeline.text import TextLine, TextReader
from detection.pipeline.types import Box, Detection

pytestmark = pytest.mark.pure
PROFILE = load_profile("demo")
KILL = Curve((0.2, 0.5, 0.9), (0.3, 0.6, 0.95), n=40)


def noisy_samples(count: int, seed: int) -> list[tuple[float, bool]]:
    """Events right more often the higher their raw score, and not always."""
    rng = random.Random(seed)
    return [(score, rng.random() < 0.2 + 0.7 * score) for score in (rng.random() for _ in range(count))]


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_fitted_curve_never_reverses_the_order_of_two_events(seed: int) -> None:
    curve = fit_curve(noisy_samples(200, seed))
    mapped = [curve(x) for x in np.linspace(-0.1, 1.1, 121)]
    assert all(b >= a for a, b in zip(mapped, mapped[1:]))
    assert all(b > a for a, b in zip(curve.x, curve.x[1:])) and curve.n == 200
    # It follows the data: low scores were right about 0.3 of the time, high ones about 0.85.
    assert curve(0.1) < 0.45 < 0.7 < curve(0.95)


def test_a_few_events_give_a_gentle_logistic_curve_that_keeps_their_order() -> None:
    few = fit_curve([(0.3, True), (0.6, True), (0.9, True)])
    assert 0.6 < few(0.3) < few(0.6) < few(0.9) < 0.97  # rising, never certainty after three events
    separated = fit_curve([(0.1, False), (0.9, True)] * 10)
    assert separated(0.1) < 0.25 and 0.9 < separated(0.95) < 1.0
    # A slope that the events would make negative is held at flat: the order is never reversed.
    reversed_ = fit_curve([(0.1, True), (0.9, False)] * 5)
    assert reversed_(0.1) == pytest.approx(reversed_(0.9))
    with pytest.raises(CalibrationError):
        fit_curve([])


def test_a_curve_that_would_reorder_events_is_refused() -> None:
    with pytest.raises(CalibrationError, match="never fall"):
        Curve((0.2, 0.8), (0.9, 0.4))
    with pytest.raises(CalibrationError, match="ascend"):
        Curve((0.8, 0.2), (0.4, 0.9))


def test_curves_per_type_and_inferred_flag_the_rest_unchanged() -> None:
    samples = [("kill", False, s, r) for s, r in noisy_samples(50, 4)] + [("raid_end", True, 0.45, False)] * 3
    calibration = fit_calibration(samples, model_sha256="abc")
    assert set(calibration.curves) == {("kill", False), ("raid_end", True)}
    assert calibration.confidence("raid_end", 0.45, inferred=True) < 0.35  # three of three were wrong
    assert calibration.confidence("raid_end", 0.45) == 0.45  # no observed raid end was measured
    assert calibration.confidence("raid_start", 0.7) == 0.7
    assert IDENTITY.is_identity and IDENTITY.confidence("kill", 0.33, inferred=True) == 0.33


def write_calibration(model: Path, calibration: Calibration) -> Path:
    path = calibration_path(model)
    path.write_text(json.dumps(calibration.to_json(method="isotonic")))
    return path


def test_the_calibration_beside_a_model_is_read_when_it_was_fitted_for_it(tmp_path: Path) -> None:
    model = tmp_path / "detector.onnx"
    model.write_bytes(b"weights")
    digest = hashlib.sha256(b"weights").hexdigest()
    path = write_calibration(model, Calibration({("kill", False): KILL}, digest))
    assert path.name == "detector.calibration.json"
    assert calibration_for_model(model).curves == {("kill", False): KILL}
    assert calibration_for_model(model).confidence("kill", 0.7) == pytest.approx(0.775)


def test_no_calibration_file_means_raw_scores_and_a_log_line(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    model = tmp_path / "bare.onnx"
    model.write_bytes(b"other weights")
    with caplog.at_level(logging.INFO, logger="detection.pipeline.calibration"):
        assert calibration_for_model(model) is IDENTITY
    assert "no confidence calibration at" in caplog.text and "bare.calibration.json" in caplog.text


def test_a_calibration_of_other_weights_is_not_used(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    model = tmp_path / "retrained.onnx"
    model.write_bytes(b"new weights")
    write_calibration(model, Calibration({("kill", False): KILL}, "0123456789abcdef" * 4))
    with caplog.at_level(logging.WARNING, logger="detection.pipeline.calibration"):
        assert calibration_for_model(model) is IDENTITY
    assert "was fitted for model sha256 0123456789ab, not this one" in caplog.text


@pytest.mark.parametrize("content", [
    "{not json",
    json.dumps({"format": 99, "curves": {}}),
    json.dumps({"format": 1, "model_sha256": "x", "curves": {"kill": {"observed": {"x": [0.1, 0.9], "y": [0.9, 0.1]}}}}),
    json.dumps({"format": 1, "model_sha256": "x", "curves": {"kill": {"guessed": {"x": [0.1], "y": [0.5]}}}}),
])
def test_a_malformed_calibration_file_means_raw_scores(tmp_path: Path, content: str, caplog: pytest.LogCaptureFixture) -> None:
    path = tmp_path / "bad.calibration.json"
    path.write_text(content)
    with caplog.at_level(logging.WARNING, logger="detection.pipeline.calibration"):
        assert load_calibration(path, model_sha256="x") is IDENTITY
    assert "not used, events keep their raw confidence" in caplog.text


def test_a_detector_finds_the_calibration_of_its_model_file(tmp_path: Path, synthetic_model: Path) -> None:
    model = tmp_path / synthetic_model.name
    model.write_bytes(synthetic_model.read_bytes())
    write_calibration(model, Calibration({("kill", False): KILL}, hashlib.sha256(model.read_bytes()).hexdigest()))
    detector = OnnxDetector(DetectorConfig(model_path=str(model), classes=PROFILE.classes))
    assert calibration_for_detector(detector).curves == {("kill", False): KILL}


class SilentReader(TextReader):
    def read(self, image: np.ndarray, *, max_side: int | None = None) -> list[TextLine]:
        return []


def test_assembly_gives_events_their_calibrated_confidence_and_keeps_the_raw_one() -> None:
    detection = Detection("kill_notification", 0.7, Box(0.6, 0.1, 0.9, 0.2))
    seen = Confirmed("kill_notification", 100, 10.0, 102, 10.2, 0.7, detection)
    unseen = Confirmed("post_raid_screen", 90, 9.0, 92, 9.2, 0.7, detection)
    reading = Reading(data={"enemy_type": "pmc", "weapon": "AKM", "headshot": False}, complete=True)
    pending = Pending(seen, reading, drafts=[Draft("kill", seen, {}), Draft("raid_end", unseen, {"outcome": None}, True)])
    inferred_end = Curve((0.0,), (0.1,), n=5)
    calibration = Calibration({("kill", False): KILL, ("raid_end", True): inferred_end}, "abc")

    kill, raid_end = EventAssembler(PROFILE, FieldReader(PROFILE, SilentReader()), calibration=calibration).events(pending)
    assert kill.confidence == pytest.approx(KILL(0.7), abs=1e-4) and kill.evidence["raw_confidence"] == 0.7
    assert raid_end.confidence == 0.1 and raid_end.evidence["raw_confidence"] == round(0.7 * INFERRED_DISCOUNT, 4)
    assert raid_end.evidence["inferred"] is True and "inferred" not in kill.evidence

    plain = EventAssembler(PROFILE, FieldReader(PROFILE, SilentReader())).events(pending)
    assert [e.confidence for e in plain] == [0.7, round(0.7 * INFERRED_DISCOUNT, 4)]
    assert all("raw_confidence" not in e.evidence for e in plain)


def test_an_incomplete_reading_that_agrees_with_a_kill_a_moment_before_repeats_it() -> None:
    """Held-out `muted` 5150 at 532 s, int8 detector: the notification's score dipped under the floor
    for a frame, came back as a new appearance and was read without its weapon: one kill, not two."""
    assembler = EventAssembler(PROFILE, FieldReader(PROFILE, SilentReader()))
    box = Detection("kill_notification", 0.3, Box(0.6, 0.1, 0.9, 0.2))

    def pending(time: float, data: dict[str, object], complete: bool) -> Pending:
        seen = Confirmed("kill_notification", int(time * 30), time, int(time * 30) + 6, time + 0.2, 0.3, box)
        reading = Reading(data=data, complete=complete, texts=("ELIMINATED", str(data["enemy_type"]).upper()))
        return Pending(seen, reading, drafts=[Draft("kill", seen, {})])

    (first,) = assembler.events(pending(532.1, {"enemy_type": "rogue", "weapon": "SV-98", "headshot": False}, True))
    assert assembler.repeat(pending(533.1, {"enemy_type": "rogue", "headshot": False}, False)) == f"repeats {first.event_id}"
    # Another enemy, a field that disagrees, or the window passed: a kill of its own.
    assert assembler.repeat(pending(533.1, {"enemy_type": "pmc", "headshot": False}, False)) == ""
    assert assembler.repeat(pending(533.1, {"enemy_type": "rogue", "headshot": True}, False)) == ""
    assert assembler.repeat(pending(540.0, {"enemy_type": "rogue", "headshot": False}, False)) == ""
    # A complete reading is a repeat only when it is the same kill.
    assert assembler.repeat(pending(533.1, {"enemy_type": "rogue", "weapon": "AKM", "headshot": False}, True)) == ""
