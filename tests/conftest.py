"""Fixtures every test module may use: three users, an API client per user, eager jobs when embedded."""
from __future__ import annotations

import subprocess
from pathlib import Path

import pytest
from django.conf import settings

from project.celery import app as celery_app

PASSWORD = "correct-horse-battery"

if not settings.PRODUCTION:
    # Embedded tests run jobs inline; the production pass runs a real worker (tests/project/).
    celery_app.conf.task_always_eager = True
    celery_app.conf.task_eager_propagates = True


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Production-only tests run in the production pass (scripts/test.sh); the embedded pass deselects them."""
    if settings.PRODUCTION:
        return
    deselected = [item for item in items if "production" in item.keywords]
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = [item for item in items if "production" not in item.keywords]


@pytest.fixture
def owner(django_user_model):  # type: ignore[no-untyped-def]
    return django_user_model.objects.create_user("owner", "owner@example.com", PASSWORD)


@pytest.fixture
def reviewer(django_user_model):  # type: ignore[no-untyped-def]
    return django_user_model.objects.create_user("reviewer", "reviewer@example.com", PASSWORD)


@pytest.fixture
def outsider(django_user_model):  # type: ignore[no-untyped-def]
    return django_user_model.objects.create_user("outsider", "outsider@example.com", PASSWORD)


@pytest.fixture
def staff(django_user_model):  # type: ignore[no-untyped-def]
    return django_user_model.objects.create_superuser("admin", "admin@example.com", PASSWORD)


def render_test_video(
    path: Path,
    *,
    seconds: float = 2.0,
    fps: int = 30,
    size: str = "160x90",
    creation_time: str | None = None,
    pattern: str = "testsrc",
    vfr: bool = False,
) -> Path:
    """A small real video made by ffmpeg (`pattern`/`seconds` vary the bytes, so fingerprints differ)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    cmd = [
        settings.VODSCOPE_FFMPEG, "-v", "error", "-y", "-f", "lavfi", "-i", f"{pattern}=size={size}:rate={fps}",
        "-t", str(seconds), "-c:v", "libx264", "-preset", "ultrafast", "-pix_fmt", "yuv420p",
    ]
    if vfr:
        # Drop half of every 10 frames and keep the timestamps: gaps of 1 and 6 frame times.
        cmd += ["-vf", "select='lt(mod(n\\,10)\\,5)'", "-fps_mode", "vfr"]
    if creation_time:
        cmd += ["-metadata", f"creation_time={creation_time}"]
    subprocess.run([*cmd, str(path)], check=True, timeout=60)
    return path


@pytest.fixture
def library(settings, tmp_path):  # type: ignore[no-untyped-def]
    """An allowed root for registering by path, empty at the start of each test."""
    root = tmp_path / "library"
    root.mkdir()
    settings.VODSCOPE_ALLOWED_ROOTS = [root.resolve()]
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.VODSCOPE_UPLOAD_DIR = tmp_path / "media" / "uploads"
    return root.resolve()


@pytest.fixture
def video(library):  # type: ignore[no-untyped-def]
    """A 2 s MKV in the library with OBS-like creation_time metadata."""
    return render_test_video(library / "2026-03-01 18-30-00.mkv", creation_time="2026-03-01T18:30:00Z")


@pytest.fixture
def api_client():  # type: ignore[no-untyped-def]
    """`api_client(user)` → a DRF client logged in with a token for that user (None: anonymous)."""
    from rest_framework.authtoken.models import Token
    from rest_framework.test import APIClient

    def make(user=None):  # type: ignore[no-untyped-def]
        client = APIClient()
        if user is not None:
            token, _ = Token.objects.get_or_create(user=user)
            client.credentials(HTTP_AUTHORIZATION=f"Token {token.key}")
        return client

    return make
