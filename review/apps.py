from __future__ import annotations

from django.apps import AppConfig


class ReviewConfig(AppConfig):
    default_auto_field = "django.db.models.BigAutoField"
    name = "review"

    def ready(self) -> None:
        # Registers the proxy task in every process, not only in workers that autodiscover:
        # embedded mode runs jobs inline in the web process.
        from review import tasks  # noqa: F401
