"""Training's settings: project/settings.py's value when it defines one, else the environment under the same name.

VODSCOPE_TRAIN_PYTHON (the training venv's interpreter), VODSCOPE_TRAIN_DEVICE (`cpu`, or `0` for the first
GPU), VODSCOPE_HELDOUT_FRAMES (how many held-out frames every version is measured on).
"""
from __future__ import annotations

from django.conf import settings

from project.env import env_int, env_str


def train_setting_str(name: str, default: str) -> str:
    value = getattr(settings, name, None)
    return str(value) if value not in (None, "") else env_str(name, default)


def train_setting_int(name: str, default: int) -> int:
    value = getattr(settings, name, None)
    return int(value) if value is not None else env_int(name, default)
