"""DetectSettings.from_params: one set of keys, every wrong type or range refused with the key's name."""
from __future__ import annotations

import pytest

from detection.pipeline.run_settings import DetectSettings, ModelRef, SettingsError, parse_params, run_metadata

pytestmark = pytest.mark.pure
MODEL = ModelRef(path="/models/m.onnx", name="m-1234abcd", sha256="ab" * 32)


def test_choices_become_settings_under_the_same_keys() -> None:
    settings = DetectSettings.from_params(
        {"detection_fps": 5, "confidence_threshold": 0.4, "gate": False, "two_pass": True, "skip_nonref": False,
         "model_version": 3},
        model=MODEL, detection_fps=10.0, providers=("CPUExecutionProvider",),
    )
    assert settings.to_json() == {
        "detection_fps": 5.0, "confidence_threshold": 0.4, "gate": False, "two_pass": True, "skip_nonref": False,
        "providers": ["CPUExecutionProvider"], "batch_size": 8,
    }
    assert settings.model == MODEL and settings.model_path == "/models/m.onnx"


def test_left_out_keys_take_the_installation_defaults() -> None:
    settings = DetectSettings.from_params({}, model=MODEL, detection_fps=7.5)
    assert (settings.detection_fps, settings.confidence_threshold, settings.gate, settings.two_pass,
            settings.skip_nonref) == (7.5, None, True, False, True)
    assert DetectSettings.from_params(None, model=MODEL) == DetectSettings.from_params({}, model=MODEL)


@pytest.mark.parametrize(
    ("params", "reason"),
    [
        ({"detection_fps": "abc"}, "detection_fps must be a number"),
        ({"detection_fps": "10"}, "detection_fps must be a number"),
        ({"detection_fps": [1]}, "detection_fps must be a number"),
        ({"detection_fps": True}, "detection_fps must be a number"),
        ({"detection_fps": 0}, "detection_fps=0 is out of range"),
        ({"detection_fps": 61}, "detection_fps=61 is out of range"),
        ({"detection_fps": float("nan")}, "out of range"),
        ({"detection_fps": float("inf")}, "out of range"),
        ({"detection_fps": 10**400}, "out of range"),
        ({"confidence_threshold": "x"}, "confidence_threshold must be a number"),
        ({"confidence_threshold": 1}, "confidence_threshold=1 is out of range"),
        ({"confidence_threshold": {"a": 1}}, "confidence_threshold must be a number"),
        ({"model_version": "x"}, "model_version must be a positive whole number"),
        ({"model_version": "3"}, "model_version must be a positive whole number"),
        ({"model_version": 1.5}, "model_version must be a positive whole number"),
        ({"model_version": 0}, "model_version must be a positive whole number"),
        ({"model_version": 2**70}, "model_version must be a positive whole number"),
        ({"model_version": False}, "model_version must be a positive whole number"),
        ({"gate": "false"}, "gate must be true or false"),
        ({"two_pass": "true"}, "two_pass must be true or false"),
        ({"skip_nonref": 1}, "skip_nonref must be true or false"),
        ({"gate": None}, "gate: null is not a value"),
        ({"detection_fps": None}, "detection_fps: null is not a value"),
        ({"model_path": "/etc/shadow"}, "unknown detection parameters ['model_path']"),
        ({"fps": 10}, "unknown detection parameters ['fps']"),
        ("abc", "must be an object"),
        ([1, 2], "must be an object"),
        (5, "must be an object"),
    ],
)
def test_wrong_values_are_refused_saying_which_and_why(params: object, reason: str) -> None:
    with pytest.raises(SettingsError) as caught:
        parse_params(params)
    assert reason in str(caught.value)


def test_the_metadata_names_the_model_by_name_and_digest_not_path() -> None:
    settings = DetectSettings.from_params({"gate": False}, model=MODEL)
    metadata = run_metadata(settings, profile="demo", started_at=None, weights="m.onnx")
    assert metadata["model"] == {"name": "m-1234abcd", "sha256": "ab" * 32} and metadata["weights"] == "m.onnx"
    assert metadata["settings"]["gate"] is False and "/models" not in str(metadata)
