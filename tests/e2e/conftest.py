"""Browser tests: Debian's Chromium driven by Playwright against pytest-django's live server."""
from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator

import pytest

from tests.conftest import PASSWORD

# Playwright's sync API runs an event loop in the test thread; the ORM calls made by tests are still synchronous.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
SCREENSHOT_DIR = os.environ.get("VODSCOPE_SCREENSHOTS", "")


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """One Chromium per module: Playwright's loop runs in the test thread while it is open, and the
    suite's later modules (WebSocket tests, the VLM analyst) run event loops of their own there."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


def login(page: object, live_server_url: str, username: str) -> None:
    page.goto(f"{live_server_url}/accounts/login/")  # type: ignore[attr-defined]
    page.fill("input[name=username]", username)  # type: ignore[attr-defined]
    page.fill("input[name=password]", PASSWORD)  # type: ignore[attr-defined]
    page.click("button[type=submit]")  # type: ignore[attr-defined]
    page.wait_for_load_state("networkidle")  # type: ignore[attr-defined]


@pytest.fixture
def page_factory(browser, live_server):  # type: ignore[no-untyped-def]
    """`page_factory(user, width=1280, height=800)` → a logged-in Playwright page."""
    contexts = []

    def make(user, width: int = 1280, height: int = 800):  # type: ignore[no-untyped-def]
        context = browser.new_context(viewport={"width": width, "height": height})
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        login(page, live_server.url, user.username)
        return page

    yield make
    for context in contexts:
        context.close()
    _requests_finished()


def _requests_finished(timeout: float = 10.0) -> None:
    """Wait out the live server's requests still in flight (a page's last poll): the database is emptied
    after the test, and on PostgreSQL a request writing meanwhile deadlocks with that TRUNCATE."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and any(
        "process_request_thread" in thread.name for thread in threading.enumerate()
    ):
        time.sleep(0.02)


def screenshot(page: object, name: str) -> None:
    """Saved only when VODSCOPE_SCREENSHOTS names a folder (for people to look at)."""
    if SCREENSHOT_DIR:
        os.makedirs(SCREENSHOT_DIR, exist_ok=True)
        page.screenshot(path=os.path.join(SCREENSHOT_DIR, f"{name}.png"), full_page=True)  # type: ignore[attr-defined]
