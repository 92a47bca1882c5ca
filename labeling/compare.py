"""Agreement between two labelling runs over the same windows (two prompt versions, or two models).

Runs are JSONL files from `vlm_label`; windows are matched by (start, end). Categorical fields agree
when equal; HUD values when within the profile's review tolerance (and their mean gap is reported).
"""
from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from detection.pipeline.labels import LabelSchema


@dataclass
class FieldAgreement:
    compared: int = 0
    agreed: int = 0
    gaps: list[float] = field(default_factory=list)

    @property
    def rate(self) -> float:
        return self.agreed / self.compared if self.compared else 0.0


@dataclass
class Agreement:
    windows_a: int
    windows_b: int
    both_labelled: int
    fields: dict[str, FieldAgreement]


def run_lines(path: Path) -> dict[tuple[float, float], dict[str, Any]]:
    """A run's labelled windows by (start, end); raises ValueError naming the bad line."""
    windows: dict[tuple[float, float], dict[str, Any]] = {}
    for number, text in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not text.strip():
            continue
        try:
            line = json.loads(text)
            key = (float(line["start"]), float(line["end"]))
        except (json.JSONDecodeError, KeyError, TypeError, ValueError) as exc:
            raise ValueError(f"{path}:{number}: not a vlm_label line ({exc})") from None
        if line.get("status") == "labelled" and isinstance(line.get("label"), dict):
            windows[key] = line["label"]
    return windows


def label_agreement(a: dict[tuple[float, float], dict[str, Any]], b: dict[tuple[float, float], dict[str, Any]],
                    schema: LabelSchema) -> Agreement:
    hud = {f.name for f in schema.hud_fields}
    fields = {name: FieldAgreement() for name in schema.field_names if name not in ("rationale", "confidence")}
    shared = sorted(set(a) & set(b))
    for key in shared:
        for name, tally in fields.items():
            left, right = a[key].get(name), b[key].get(name)
            if name in hud:
                if left is None or right is None:
                    continue
                gap = abs(float(left) - float(right))
                tally.gaps.append(gap)
                tally.agreed += gap <= schema.review_tolerance
            else:
                tally.agreed += left == right
            tally.compared += 1
    return Agreement(windows_a=len(a), windows_b=len(b), both_labelled=len(shared), fields=fields)
