"""The VLM analyst's label schema, declared by the profile's `labels:` section, and its prompts.

One declaration gives the JSON schema sent to each backend's structured-output mode and the one
answers are validated against, so the output shape never drifts from what the profile says. Prompts
are versioned data files beside the profile (`profiles/prompts/<profile>/<version>.yaml`): their text
may change without code, their placeholders are fixed here.
"""
from __future__ import annotations

import hashlib
import json
import re
import string
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import Any

import yaml
from jsonschema import Draft202012Validator

from detection.pipeline.profile import PROFILES_DIR, ProfileError, profile_path

PROMPTS_DIR = PROFILES_DIR / "prompts"
INTENT_VALUES = ("true", "false", "unknown")
# What a prompt's text may name; anything else is a typo caught on load, not a KeyError mid-job.
PROMPT_PLACEHOLDERS = frozenset({"frame_count", "seconds", "frame_times", "tactics", "hud_fields", "context", "schema"})
REPAIR_PLACEHOLDERS = frozenset({"answer", "problems", "schema"})


@dataclass(frozen=True)
class HudField:
    name: str
    word: str
    minimum: int
    maximum: int


@dataclass(frozen=True)
class LabelSchema:
    profile: str
    tactics: tuple[str, ...]
    unknown_tactic: str
    hud_region: str
    hud_fields: tuple[HudField, ...]
    default_prompt: str
    review_tolerance: int = 10
    rationale_max: int = 300

    @property
    def field_names(self) -> tuple[str, ...]:
        return (*(f.name for f in self.hud_fields), "tactic", "intent_matches", "rationale", "confidence")

    def json_schema(self) -> dict[str, Any]:
        return self._json_schema

    @cached_property
    def _json_schema(self) -> dict[str, Any]:
        """Built once per schema (cached_property writes the instance __dict__, which a frozen dataclass
        allows): every request sends it and every answer is checked against it. HUD values are
        nullable: a menu frame or a hidden HUD has none, and a guess is worse than null."""
        properties: dict[str, Any] = {
            f.name: {"type": ["integer", "null"], "minimum": f.minimum, "maximum": f.maximum} for f in self.hud_fields
        }
        properties["tactic"] = {"type": "string", "enum": list(self.tactics)}
        properties["intent_matches"] = {"type": "string", "enum": list(INTENT_VALUES)}
        properties["rationale"] = {"type": "string", "maxLength": self.rationale_max}
        properties["confidence"] = {"type": "number", "minimum": 0, "maximum": 1}
        return {
            "type": "object",
            "properties": properties,
            "required": list(self.field_names),
            "additionalProperties": False,
        }

    def problems(self, answer: Any) -> list[str]:
        return sorted(
            f"{'/'.join(str(p) for p in error.absolute_path) or 'answer'}: {error.message}"
            for error in self._validator.iter_errors(answer)
        )

    @cached_property
    def _validator(self) -> Draft202012Validator:
        return Draft202012Validator(self.json_schema())

    def fallback(self, hud: dict[str, int | None], *, why: str) -> dict[str, Any]:
        """The label a window gets when no model answered: HUD values from OCR, the tactic unknown."""
        label: dict[str, Any] = {f.name: hud.get(f.name) for f in self.hud_fields}
        label.update(tactic=self.unknown_tactic, intent_matches="unknown", rationale=why[: self.rationale_max],
                     confidence=0.0)
        return label


def label_schema_load(profile: str | Path = "demo") -> LabelSchema:
    """The label schema of a bundled profile (by name) or of a profile file (by path)."""
    path = profile_path(profile)
    raw = (yaml.safe_load(path.read_text(encoding="utf-8")) or {}).get("labels")
    if not isinstance(raw, dict):
        raise NoLabelSchema(f"{path}: no `labels:` section, so no VLM label schema")
    return label_schema_from_dict(raw, profile=path.stem, where=str(path))


class NoLabelSchema(ProfileError):
    """The profile declares no `labels:`: nothing of it can be labelled by a VLM."""


def label_schema_from_dict(raw: dict[str, Any], *, profile: str, where: str) -> LabelSchema:
    tactics = tuple(str(t) for t in raw.get("tactics") or ())
    unknown = str(raw.get("unknown_tactic", "unknown"))
    if unknown not in tactics:
        raise ProfileError(f"{where}: labels.unknown_tactic {unknown!r} is not one of labels.tactics")
    hud = raw.get("hud") or {}
    fields = tuple(
        HudField(name=str(name), word=str(spec.get("word", name)).upper(), minimum=int(spec.get("min", 0)),
                 maximum=int(spec.get("max", 100)))
        for name, spec in (hud.get("fields") or {}).items()
    )
    if not fields or not hud.get("region"):
        raise ProfileError(f"{where}: labels.hud needs a region and at least one field")
    return LabelSchema(
        profile=profile,
        tactics=tactics,
        unknown_tactic=unknown,
        hud_region=str(hud["region"]),
        hud_fields=fields,
        default_prompt=str(raw.get("prompt", "")),
        review_tolerance=int(raw.get("review_tolerance", 10)),
        rationale_max=int(raw.get("rationale_max", 300)),
    )


class AnswerError(ValueError):
    """An answer that is not a label: the message says why, the raw text stays with the window."""


_FENCE = re.compile(r"^\s*```(?:json)?\s*(.*?)\s*```\s*$", re.S)


def answer_parse(text: str, schema: LabelSchema) -> dict[str, Any]:
    """The label in a model's answer; a Markdown fence around the JSON is tolerated, nothing else."""
    fenced = _FENCE.match(text)
    body = fenced.group(1) if fenced else text.strip()
    try:
        answer = json.loads(body)
    except json.JSONDecodeError as exc:
        raise AnswerError(f"not JSON ({exc.msg} at character {exc.pos})") from None
    problems = schema.problems(answer)
    if problems:
        raise AnswerError("; ".join(problems))
    return dict(answer)


@dataclass(frozen=True)
class Prompt:
    version: str
    system: str
    user: str
    repair: str

    @property
    def digest(self) -> str:
        """Part of the cache key: editing a prompt's text without renaming it still misses the cache."""
        text = json.dumps([self.version, self.system, self.user, self.repair])
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def render(self, schema: LabelSchema, *, frame_times: list[float], seconds: float, context: dict[str, Any]) -> str:
        hud = ", ".join(f"{f.name} (the number after {f.word}, {f.minimum}-{f.maximum})" for f in schema.hud_fields)
        return self.user.format(
            frame_count=len(frame_times),
            seconds=f"{seconds:g}",
            frame_times=", ".join(f"{t:.2f}" for t in frame_times),
            tactics=", ".join(schema.tactics),
            hud_fields=hud,
            context=json.dumps(context, sort_keys=True) if context else "nothing",
            schema=json.dumps(schema.json_schema(), sort_keys=True),
        )

    def render_repair(self, schema: LabelSchema, *, answer: str, problems: str) -> str:
        return self.repair.format(answer=answer[:4000], problems=problems,
                                  schema=json.dumps(schema.json_schema(), sort_keys=True))


def prompt_file(profile: str, version: str) -> tuple[Path, dict[str, Any]]:
    """A versioned prompt file beside the profile (any task's): its path and its mapping of texts."""
    if not re.fullmatch(r"[A-Za-z0-9_.-]+", version):
        raise ProfileError(f"prompt version {version!r}: letters, digits, '_', '.', '-' only")
    path = PROMPTS_DIR / profile / f"{version}.yaml"
    if not path.exists():
        known = sorted(p.stem for p in (PROMPTS_DIR / profile).glob("*.yaml"))
        raise ProfileError(f"no prompt {version!r} for profile {profile!r} at {path}; known: {known}")
    raw = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(raw, dict):
        raise ProfileError(f"{path}: not a mapping of texts")
    return path, raw


def prompt_load(profile: str, version: str) -> Prompt:
    path, raw = prompt_file(profile, version)
    prompt = Prompt(version=version, system=str(raw.get("system", "")), user=str(raw.get("user", "")),
                    repair=str(raw.get("repair", "")))
    for name, text, allowed in (("user", prompt.user, PROMPT_PLACEHOLDERS),
                                ("repair", prompt.repair, REPAIR_PLACEHOLDERS)):
        if not text.strip():
            raise ProfileError(f"{path}: `{name}` is empty")
        used = {field for _, field, _, _ in string.Formatter().parse(text) if field}
        if used - allowed:
            raise ProfileError(f"{path}: `{name}` names unknown placeholders {sorted(used - allowed)}; "
                               f"allowed: {sorted(allowed)}")
    return prompt

