"""First start: an admin login (printed once) and, when the renderer is installed, a demo recording."""
from __future__ import annotations

import io
import secrets
from typing import Any

from django.conf import settings
from django.contrib.auth import get_user_model
from django.contrib.auth.models import User
from django.core.management import call_command, get_commands
from django.core.management.base import BaseCommand

from detection.services.detect import detect_job_start
from detection.services.ingest import DuplicateRecording, IngestError, recording_register_path

ADMIN_USERNAME = "admin"
DEMO_NAME = "demo-session"
# Long enough for a few raids, short enough to render (~40 s) and detect on a laptop at first start.
DEMO_MINUTES = 4
DEMO_RESOLUTION = "1280x720"


class Command(BaseCommand):
    help = "Create an admin user with a random password (printed) and register a rendered demo recording."

    def add_arguments(self, parser: Any) -> None:
        parser.add_argument("--no-demo", action="store_true", help="only make sure an admin exists")

    def handle(self, *args: Any, **options: Any) -> None:
        admin = self._ensure_admin()
        if not options["no_demo"]:
            self._ensure_demo(admin)

    def _ensure_admin(self) -> User:
        users = get_user_model()
        existing = users.objects.filter(is_superuser=True).order_by("pk").first()
        note = settings.DATA_DIR / "admin-login.txt"
        if existing is not None:
            saved = note.read_text().split() if note.exists() else []
            if saved[:2] == ["username:", existing.username] and len(saved) >= 4:
                self.stdout.write(f"Admin login: username {existing.username}  password {saved[3]}")
            else:
                self.stdout.write(f"Admin login: {existing.username} (reset with: manage.py changepassword {existing.username})")
            return existing
        password = secrets.token_urlsafe(12)
        admin = users.objects.create_superuser(ADMIN_USERNAME, "", password)
        note.write_text(f"username: {ADMIN_USERNAME}\npassword: {password}\n")
        note.chmod(0o600)
        self.stdout.write(self.style.SUCCESS(f"Admin login: username {ADMIN_USERNAME}  password {password}"))
        self.stdout.write(f"(also saved in {note})")
        return admin

    def _ensure_demo(self, admin: Any) -> None:
        if "render_demo" not in get_commands():
            self.stdout.write("No demo renderer installed; skipping the demo recording.")
            return
        target = settings.VODSCOPE_DEMO_DIR / f"{DEMO_NAME}.mkv"
        if not target.exists():
            self.stdout.write(f"Rendering the demo recording into {target} (about a minute) …")
            call_command("render_demo", out=str(target.parent), name=DEMO_NAME, minutes=DEMO_MINUTES,
                         resolution=DEMO_RESOLUTION, stderr=io.StringIO())
        try:
            recording = recording_register_path(owner=admin, path=target, notes="Rendered demo footage")
        except DuplicateRecording as exc:
            self.stdout.write(f"Demo recording already registered (#{exc.recording.pk}).")
        except IngestError as exc:
            self.stderr.write(f"The demo recording could not be registered: {exc}")
        else:
            job = detect_job_start(recording=recording, user=admin)
            self.stdout.write(self.style.SUCCESS(
                f"Demo recording registered as #{recording.pk}: {recording.title}; detection job #{job.pk} queued"
            ))
