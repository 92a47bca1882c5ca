"""Token budgets for text requests: an estimate per text, raid facts trimmed to fit, items packed into chunks.

The estimate is deliberately pessimistic (one token per three bytes: English prose runs about four, JSON
with numbers and keys nearer three) because no tokenizer of the backend's model is at hand and a request
over a model's context window is truncated or refused, while one under it only costs an extra chunk.
"""
from __future__ import annotations

import json
from collections import Counter
from collections.abc import Callable, Sequence
from typing import Any

BYTES_PER_TOKEN = 3


class BudgetTooSmall(ValueError):
    """The context budget cannot hold even the prompt with its smallest input."""


def tokens_estimate(text: str) -> int:
    return -(-len(text.encode("utf-8")) // BYTES_PER_TOKEN)


def facts_fitted(facts: dict[str, Any], *, fits: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    """`facts` as they are when they fit, else with detail given up in order: the tactic runs, then each
    kill (counted by enemy and weapon instead). BudgetTooSmall when even that does not fit."""
    if fits(facts):
        return facts
    lighter = {k: v for k, v in facts.items() if k != "tactic_runs"}
    if fits(lighter):
        return lighter
    kills = lighter.get("kills") or []
    lighter["kills"] = {
        "count": len(kills),
        "by_enemy": dict(sorted(Counter(str(k.get("enemy_type", "?")) for k in kills).items())),
        "by_weapon": dict(sorted(Counter(str(k.get("weapon", "?")) for k in kills).items())),
        "headshots": sum(1 for k in kills if k.get("headshot")),
    }
    if fits(lighter):
        return lighter
    raise BudgetTooSmall(f"raid {facts.get('raid')}: its facts do not fit the context budget even without "
                         "the tactic runs and with kills counted; raise the budget")


def chunks_packed(items: Sequence[dict[str, Any]], *, fits: Callable[[list[dict[str, Any]]], bool]
                  ) -> list[list[dict[str, Any]]]:
    """Consecutive items, as many per chunk as `fits` allows, order kept. A chunk of one item that does not
    fit, or a packing that does not reduce the count (so summaries of summaries would never converge), is
    BudgetTooSmall."""
    chunks: list[list[dict[str, Any]]] = []
    for item in items:
        if chunks and fits([*chunks[-1], item]):
            chunks[-1].append(item)
            continue
        if not fits([item]):
            raise BudgetTooSmall(f"one summary ({tokens_estimate(json.dumps(item))} tokens estimated) does not "
                                 "fit the context budget with its prompt; raise the budget")
        chunks.append([item])
    if len(items) > 1 and len(chunks) >= len(items):
        raise BudgetTooSmall("the context budget holds only one summary per request, so the session cannot be "
                             "summarised; raise the budget")
    return chunks
