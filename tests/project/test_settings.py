"""The two modes come from the environment alone; bad values fail at start-up."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]


def _settings_check(env: dict[str, str], code: str) -> subprocess.CompletedProcess[str]:
    full_env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "REDIS_URL"}}
    full_env.update(env)
    full_env["DJANGO_SETTINGS_MODULE"] = "project.settings"
    script = "import django; django.setup(); from django.conf import settings as s; " + code
    return subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=full_env, cwd=ROOT,
                          timeout=60)


@pytest.mark.pure
def test_embedded_defaults(tmp_path):
    result = _settings_check(
        {"VODSCOPE_HOME": str(tmp_path)},
        "print(s.DATABASES['default']['ENGINE'], s.CELERY_BROKER_URL, s.CHANNEL_LAYERS['default']['BACKEND'])",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.sqlite3", "filesystem://", "channels.layers.InMemoryChannelLayer"
    ]
    assert (tmp_path / "secret_key").exists()


@pytest.mark.pure
@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("DJANGO_DEBUG", "maybe"), ("VODSCOPE_REVIEW_THRESHOLD", "2"), ("VODSCOPE_DETECTION_FPS", "x"),
        ("VODSCOPE_JOB_STALE_SECONDS", "1"),  # not more than the 2 s heartbeat: every job would look orphaned
        ("VODSCOPE_JOB_HEARTBEAT_SECONDS", "0"),
    ],
)
def test_bad_values_fail_loudly(tmp_path, name, value):
    result = _settings_check({"VODSCOPE_HOME": str(tmp_path), name: value}, "print('started')")
    assert result.returncode != 0
    assert name in result.stderr


@pytest.mark.production
def test_production_pass_uses_postgres_and_redis(db):
    from django.db import connection

    assert settings.PRODUCTION
    assert connection.vendor == "postgresql"
    assert settings.CELERY_BROKER_URL.startswith("redis://")
    assert settings.CHANNEL_LAYERS["default"]["BACKEND"] == "channels_redis.core.RedisChannelLayer"


@pytest.mark.production
def test_redis_channel_layer_round_trip():
    """Live pushes across processes in production go through Redis."""
    import asyncio
    from concurrent.futures import ThreadPoolExecutor

    from channels import DEFAULT_CHANNEL_LAYER
    from channels.layers import channel_layers

    async def round_trip() -> dict[str, object]:
        # A layer of its own: the process-wide one keeps a receive lock bound to the event loop of whichever
        # earlier test received on it first, and this loop is another ("bound to a different event loop").
        layer = channel_layers.make_backend(DEFAULT_CHANNEL_LAYER)
        channel = await layer.new_channel()
        await layer.send(channel, {"type": "job.progress", "done": 3})
        return await layer.receive(channel)

    # A thread of its own: the browser tests' Playwright keeps an event loop in the main thread.
    with ThreadPoolExecutor(1) as pool:
        assert pool.submit(asyncio.run, round_trip()).result(timeout=30) == {"type": "job.progress", "done": 3}
