"""Train/val split by recording: all frames of one recording land on the same side."""
from __future__ import annotations

import hashlib
from collections.abc import Iterable


def split_groups(groups: Iterable[str], *, val_fraction: float = 0.2) -> dict[str, str]:
    """Each group (a recording) → "train" or "val", stable for the same groups.

    Groups are ordered by a hash of their name (not by id, so val is not always the newest) and the
    last `val_fraction` of them, at least one when there are two or more, go to val."""
    unique = sorted(set(groups), key=lambda g: hashlib.sha256(g.encode()).hexdigest())
    if len(unique) < 2:
        return {g: "train" for g in unique}
    val_count = min(len(unique) - 1, max(1, round(len(unique) * val_fraction)))
    return {g: ("val" if i >= len(unique) - val_count else "train") for i, g in enumerate(unique)}
