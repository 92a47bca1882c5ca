"""Fixtures every test module may use: three users, an API client per user, eager jobs when embedded."""
from __future__ import annotations

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
