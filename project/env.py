"""Typed environment readers: a bad value fails loudly at start-up, never later."""
from __future__ import annotations

import os
from pathlib import Path


class SettingError(RuntimeError):
    pass


def env_str(name: str, default: str = "") -> str:
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    lowered = raw.strip().lower()
    if lowered in {"1", "true", "yes", "on"}:
        return True
    if lowered in {"0", "false", "no", "off"}:
        return False
    raise SettingError(f"{name}={raw!r} is not a boolean (use 1/0, true/false, yes/no, on/off)")


def env_int(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError as exc:
        raise SettingError(f"{name}={raw!r} is not an integer") from exc


def env_float(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return default
    try:
        return float(raw)
    except ValueError as exc:
        raise SettingError(f"{name}={raw!r} is not a number") from exc


def env_list(name: str, default: list[str], separator: str = ",") -> list[str]:
    raw = os.environ.get(name)
    if raw is None or raw == "":
        return list(default)
    return [item.strip() for item in raw.split(separator) if item.strip()]


def env_dir(name: str, default: Path) -> Path:
    """One directory, resolved (symlinks and `..`); created if missing."""
    raw = os.environ.get(name)
    path = Path(raw).expanduser() if raw else default
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise SettingError(f"{name}={str(path)!r} cannot be made a folder ({exc.strerror or exc})") from exc
    return path.resolve()


def env_paths(name: str, default: list[Path]) -> list[Path]:
    """Colon-separated directories, resolved; each must exist or be creatable."""
    raw = os.environ.get(name)
    paths = default if not raw else [Path(p).expanduser() for p in raw.split(os.pathsep) if p]
    resolved = []
    for path in paths:
        path.mkdir(parents=True, exist_ok=True)
        resolved.append(path.resolve())
    return resolved
