"""The label schema comes from the profile's `labels:` section; prompts are data files checked on load."""
from __future__ import annotations

import json

import pytest

from detection.pipeline.hud import hud_values
from detection.pipeline.labels import AnswerError, answer_parse, label_schema_from_dict, label_schema_load, prompt_load
from detection.pipeline.profile import ProfileError

pytestmark = pytest.mark.pure

GOOD = {"health": 73, "shield": 40, "tactic": "kiting", "intent_matches": "true", "rationale": "strafes",
        "confidence": 0.8}


def test_schema_follows_the_profile():
    schema = label_schema_load("demo")
    json_schema = schema.json_schema()
    assert json_schema["properties"]["tactic"]["enum"] == list(schema.tactics)
    assert {"kiting", "box_collecting", "aggressive_push", "fleeing", "unknown"} <= set(schema.tactics)
    assert json_schema["properties"]["health"] == {"type": ["integer", "null"], "minimum": 0, "maximum": 100}
    assert json_schema["properties"]["intent_matches"]["enum"] == ["true", "false", "unknown"]
    assert set(json_schema["required"]) == {"health", "shield", "tactic", "intent_matches", "rationale", "confidence"}
    assert json_schema["additionalProperties"] is False
    assert schema.hud_region == "gameplay_hud_vitals"


def test_answers_are_validated_against_it():
    schema = label_schema_load("demo")
    assert answer_parse(json.dumps(GOOD), schema) == GOOD
    assert answer_parse("```json\n" + json.dumps(GOOD) + "\n```", schema) == GOOD
    with pytest.raises(AnswerError, match="not JSON"):
        answer_parse('{"health": 73, "shield": 4', schema)  # truncated
    with pytest.raises(AnswerError, match="health: 101 is greater than the maximum"):
        answer_parse(json.dumps({**GOOD, "health": 101}), schema)
    with pytest.raises(AnswerError, match="tactic: 'dancing' is not one of"):
        answer_parse(json.dumps({**GOOD, "tactic": "dancing"}), schema)
    with pytest.raises(AnswerError, match="'confidence' is a required property"):
        answer_parse(json.dumps({k: v for k, v in GOOD.items() if k != "confidence"}), schema)


def test_fallback_label_is_in_the_schema():
    schema = label_schema_load("demo")
    label = schema.fallback({"health": 55, "shield": None}, why="backends down")
    assert schema.problems(label) == []
    assert label["tactic"] == "unknown" and label["health"] == 55 and label["shield"] is None


def test_a_profile_whose_unknown_tactic_is_not_a_tactic_is_refused():
    with pytest.raises(ProfileError, match="unknown_tactic 'none' is not one of labels.tactics"):
        label_schema_from_dict({"tactics": ["kiting"], "unknown_tactic": "none",
                                "hud": {"region": "r", "fields": {"health": {}}}}, profile="x", where="x.yaml")


def test_prompt_is_versioned_data_built_from_the_profile():
    schema = label_schema_load("demo")
    prompt = prompt_load("demo", schema.default_prompt)
    text = prompt.render(schema, frame_times=[1.0, 1.4], seconds=2.0, context={"state": "raid_active"})
    assert "kiting, box_collecting" in text and "1.00, 1.40" in text and "raid_active" in text
    assert "the number after HP" in text and '"additionalProperties": false' in text
    with pytest.raises(ProfileError, match="no prompt 'tactical_v99'.*known: \\[.*'tactical_v1'"):
        prompt_load("demo", "tactical_v99")
    with pytest.raises(ProfileError, match="letters, digits"):
        prompt_load("demo", "../demo")


def test_a_prompt_with_an_unknown_placeholder_is_refused(tmp_path, monkeypatch):
    from detection.pipeline import labels

    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / "bad.yaml").write_text("user: 'see {frames_count}'\nrepair: '{answer}'\n")
    monkeypatch.setattr(labels, "PROMPTS_DIR", tmp_path)
    with pytest.raises(ProfileError, match="unknown placeholders \\['frames_count'\\]"):
        prompt_load("demo", "bad")


def test_hud_values_from_ocr_lines():
    schema = label_schema_load("demo")
    assert hud_values(["HP 73%", "SHIELD 4O%"], schema) == {"health": 73, "shield": 40}
    assert hud_values(["HP73%  SHIELD 100 %"], schema) == {"health": 73, "shield": 100}
    assert hud_values(["HP 730%", "AMMO 30/30"], schema) == {"health": None, "shield": None}
