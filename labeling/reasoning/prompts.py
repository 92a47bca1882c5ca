"""Versioned prompts for JSON tasks, as data beside the profile like the analyst's
(`detection/profiles/prompts/<profile>/<version>.yaml`): text editable without code, placeholders fixed here.

A task names its templates and the placeholders each may use; a typo in a placeholder is caught on load,
not as a KeyError mid-job. Everything that is not a template (e.g. the cross-check's `claims`) is kept as
`extras` for the task to read.
"""
from __future__ import annotations

import hashlib
import json
import string
from dataclasses import dataclass, field
from typing import Any

from detection.pipeline.labels import prompt_file
from detection.pipeline.profile import ProfileError

REPAIR_PLACEHOLDERS = frozenset({"answer", "problems", "schema"})


@dataclass(frozen=True)
class TaskPrompt:
    version: str
    system: str
    templates: dict[str, str]
    extras: dict[str, Any] = field(default_factory=dict)

    @property
    def digest(self) -> str:
        """Part of every cache key: editing a prompt's text without renaming it still misses the cache."""
        text = json.dumps([self.version, self.system, self.templates, self.extras], sort_keys=True)
        return hashlib.sha256(text.encode()).hexdigest()[:16]

    def render(self, name: str, **values: Any) -> str:
        return self.templates[name].format(**values)

    def render_repair(self, *, answer: str, problems: str, schema: dict[str, Any]) -> str:
        return self.render("repair", answer=answer[:4000], problems=problems,
                           schema=json.dumps(schema, sort_keys=True))


def task_prompt_load(profile: str, version: str, *, placeholders: dict[str, frozenset[str]]) -> TaskPrompt:
    """`placeholders`: each template the task needs and what it may name (`repair` is always needed)."""
    path, raw = prompt_file(profile, version)
    needed = {**placeholders, "repair": REPAIR_PLACEHOLDERS}
    templates: dict[str, str] = {}
    for name, allowed in needed.items():
        text = str(raw.get(name) or "")
        if not text.strip():
            raise ProfileError(f"{path}: `{name}` is empty or missing (is this a prompt for this task?)")
        used = {name for _, name, _, _ in string.Formatter().parse(text) if name}
        if used - allowed:
            raise ProfileError(f"{path}: `{name}` names unknown placeholders {sorted(used - allowed)}; "
                               f"allowed: {sorted(allowed)}")
        templates[name] = text
    extras = {k: v for k, v in raw.items() if k not in needed and k != "system"}
    return TaskPrompt(version=version, system=str(raw.get("system", "")), templates=templates, extras=extras)
