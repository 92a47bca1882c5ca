"""The review page in a real browser: keyboard, seeking, actions that survive a reload, filters, export."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from detection.models import DetectedEvent
from tests.e2e.conftest import screenshot
from tests.review.factories import RecordingFactory, make_test_video

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return make_test_video(tmp_path_factory.mktemp("e2e-video") / "session.mp4", seconds=12, fps=25, size="640x360")


@pytest.fixture
def recording(owner, reviewer, video):  # type: ignore[no-untyped-def]
    rec = RecordingFactory(owner=owner, title="Tuesday stream", source_path=str(video), duration_seconds=12.0)
    rec.reviewers.add(reviewer)
    rows = [
        ("state_transition", 1.0, 0.97, {"from_state": "stash", "to_state": "pre_raid"}),
        ("raid_start", 2.5, 0.91, {"map_name": "customs", "character_type": "pmc", "game_mode": "pve"}),
        ("kill", 5.0, 0.62, {"enemy_type": "scav", "weapon": "AKM", "headshot": True}),
        ("kill", 7.5, 0.93, {"enemy_type": "pmc", "weapon": "M4A1", "headshot": False}),
        ("raid_end", 10.0, 0.71, {"outcome": "survived", "extract_location": "crossroads"}),
    ]
    for i, (event_type, offset, confidence, data) in enumerate(rows):
        DetectedEvent.objects.create(
            recording=rec, event_id=f"e{i}", event_type=event_type, video_offset_seconds=offset,
            confidence=confidence, data=data,
        )  # fmt: skip
    return rec


def open_review(page_factory, live_server, user, recording, width=1280, height=800):  # type: ignore[no-untyped-def]
    page = page_factory(user, width, height)
    page.goto(f"{live_server.url}/recordings/{recording.pk}/review/")
    page.wait_for_selector("video#player")
    return page


def selected_id(page) -> str:  # type: ignore[no-untyped-def]
    return page.locator('[aria-selected="true"][data-event-id]').get_attribute("data-event-id")


def ids(recording) -> list[str]:  # type: ignore[no-untyped-def]
    return [str(pk) for pk in DetectedEvent.objects.filter(recording=recording).order_by("video_offset_seconds").values_list("pk", flat=True)]


def test_screenshots(page_factory, live_server, owner, recording):
    for width, height in ((1280, 800), (1920, 1080)):
        page = open_review(page_factory, live_server, owner, recording, width, height)
        page.wait_for_function("document.querySelector('video').readyState >= 1")
        screenshot(page, f"review-{width}x{height}")
        page.keyboard.press("?")
        screenshot(page, f"review-keys-{width}x{height}")
        page.keyboard.press("Escape")
        page.keyboard.press("e")
        page.wait_for_selector(".event-form select")
        screenshot(page, f"review-edit-{width}x{height}")


def current_time(page) -> float:  # type: ignore[no-untyped-def]
    return float(page.evaluate("document.querySelector('video').currentTime"))


def wait_time_near(page, seconds: float, tolerance: float = 0.6) -> None:  # type: ignore[no-untyped-def]
    page.wait_for_function(
        f"Math.abs(document.querySelector('video').currentTime - {seconds}) < {tolerance}", timeout=10_000
    )


def test_j_k_move_the_selection(page_factory, live_server, reviewer, recording):
    page = open_review(page_factory, live_server, reviewer, recording)
    order = ids(recording)
    assert selected_id(page) == order[0]
    page.keyboard.press("j")
    page.keyboard.press("j")
    assert selected_id(page) == order[2]
    page.keyboard.press("k")
    assert selected_id(page) == order[1]
    assert page.evaluate("document.activeElement.dataset.eventId") == order[1]


def test_enter_and_click_seek_the_video_a_second_early(page_factory, live_server, owner, recording):
    page = open_review(page_factory, live_server, owner, recording)
    page.wait_for_function("document.querySelector('video').readyState >= 1")
    page.keyboard.press("j")
    page.keyboard.press("j")  # the kill at 5.0 s
    page.keyboard.press("Enter")
    wait_time_near(page, 4.0)
    assert page.evaluate("!document.querySelector('video').paused")
    page.keyboard.press(" ")
    page.wait_for_function("document.querySelector('video').paused")
    page.locator(f'[data-event-id="{ids(recording)[3]}"] .data').click()  # 7.5 s
    wait_time_near(page, 6.5)
    page.keyboard.press(" ")
    page.wait_for_function("document.querySelector('video').paused")
    before = current_time(page)
    page.keyboard.press(".")
    page.wait_for_function(f"Math.abs(document.querySelector('video').currentTime - {before + 0.04}) < 0.01")
    page.keyboard.press(",")
    page.wait_for_function(f"Math.abs(document.querySelector('video').currentTime - {before}) < 0.01")


def test_next_low_confidence_is_one_key(page_factory, live_server, owner, recording):
    page = open_review(page_factory, live_server, owner, recording)
    order = ids(recording)
    page.keyboard.press("l")
    assert selected_id(page) == order[2]  # 0.62
    page.keyboard.press("l")
    assert selected_id(page) == order[4]  # 0.71


def test_approve_and_delete_move_on_and_survive_a_reload(page_factory, live_server, reviewer, recording):
    page = open_review(page_factory, live_server, reviewer, recording)
    order = ids(recording)
    page.keyboard.press("a")
    page.wait_for_selector(f'#ev-{order[0]}.s-approved')
    assert selected_id(page) == order[1]
    page.keyboard.press("d")
    page.wait_for_selector(f'#ev-{order[1]}.s-deleted')
    assert selected_id(page) == order[2]
    assert page.evaluate("document.activeElement.dataset.eventId") == order[2]
    page.wait_for_selector("#review-counts >> text=1/4 reviewed")
    approved, deleted = DetectedEvent.objects.get(pk=order[0]), DetectedEvent.objects.get(pk=order[1])
    assert approved.review_status == "approved" and approved.manually_reviewed
    assert deleted.review_status == "deleted"

    page.reload()
    assert page.locator(f"#ev-{order[0]}.s-approved").count() == 1
    assert page.locator(f"#ev-{order[1]}").count() == 0  # deleted events leave the default view
    page.goto(f"{live_server.url}/recordings/{recording.pk}/review/?state=deleted")
    assert page.locator("[data-event-id]").count() == 1 and page.locator(f"#ev-{order[1]}").count() == 1


def test_edit_inline_with_vocabulary_choices(page_factory, live_server, owner, recording):
    page = open_review(page_factory, live_server, owner, recording)
    target = ids(recording)[2]
    page.keyboard.press("j")
    page.keyboard.press("j")
    page.keyboard.press("e")
    page.wait_for_selector(f"#ev-{target} .event-form")
    assert page.evaluate("document.activeElement.name") == "event_type"
    page.select_option(f"#ev-{target} select[name=kill-enemy_type]", "boss")
    page.select_option(f"#ev-{target} select[name=kill-weapon]", "SVDS")
    page.focus(f"#ev-{target} select[name=kill-weapon]")
    page.keyboard.press("d")  # typing in the form is not a shortcut
    page.keyboard.press("a")
    page.keyboard.press("Escape")  # leaves the form without saving
    page.wait_for_selector(f"#ev-{target}:not(.editing)")
    assert DetectedEvent.objects.get(pk=target).review_status == "unreviewed"
    assert selected_id(page) == target

    page.keyboard.press("e")
    page.wait_for_selector(f"#ev-{target} .event-form")
    page.select_option(f"#ev-{target} select[name=kill-enemy_type]", "boss")
    page.select_option(f"#ev-{target} select[name=kill-weapon]", "SVDS")
    page.focus(f"#ev-{target} select[name=kill-weapon]")
    page.keyboard.press("Enter")
    page.wait_for_selector(f"#ev-{target}.s-edited")
    event = DetectedEvent.objects.get(pk=target)
    assert event.data == {"enemy_type": "boss", "weapon": "SVDS", "headshot": True}
    assert selected_id(page) == target and page.evaluate("document.activeElement.dataset.eventId") == target
    page.reload()
    assert "boss · SVDS" in page.locator(f"#ev-{target} .data").inner_text()


def test_add_at_the_player_time_then_undo(page_factory, live_server, owner, recording):
    page = open_review(page_factory, live_server, owner, recording)
    page.wait_for_function("document.querySelector('video').readyState >= 1")
    page.evaluate("document.querySelector('video').currentTime = 3.0")
    wait_time_near(page, 3.0, 0.05)
    page.keyboard.press("n")
    page.wait_for_selector("#add-slot .event-form")
    page.select_option("#add-slot select[name=event_type]", "raid_end")
    page.select_option("#add-slot select[name=raid_end-outcome]", "killed")
    page.select_option("#add-slot select[name=raid_end-killed_by]", "raider")
    screenshot(page, "review-add-1280x800")
    page.keyboard.press("Enter")
    page.wait_for_selector("#add-slot:not(.open)", state="attached")
    added = DetectedEvent.objects.get(recording=recording, source="manual")
    assert abs(added.video_offset_seconds - 3.0) < 0.05
    assert added.data == {"outcome": "killed", "killed_by": "raider"}
    assert selected_id(page) == str(added.pk)
    page.reload()
    assert page.locator(f"#ev-{added.pk} .badge.manual").count() == 1

    page.keyboard.press("u")
    page.wait_for_selector(f"#ev-{added.pk}", state="detached")
    assert DetectedEvent.objects.get(pk=added.pk).review_status == "deleted"


def test_undo_reverts_an_approve_and_survives_a_reload(page_factory, live_server, owner, recording):
    page = open_review(page_factory, live_server, owner, recording)
    first = ids(recording)[0]
    page.keyboard.press("a")
    page.wait_for_selector(f"#ev-{first}.s-approved")
    page.keyboard.press("u")
    page.wait_for_selector(f"#ev-{first}.s-unreviewed")
    assert selected_id(page) == first
    page.reload()
    assert page.locator(f"#ev-{first}.s-unreviewed").count() == 1
    assert not DetectedEvent.objects.get(pk=first).manually_reviewed


def test_filters_narrow_the_list_and_the_url(page_factory, live_server, owner, recording):
    page = open_review(page_factory, live_server, owner, recording)
    page.check("input[name=type][value=kill]")
    page.wait_for_function("document.querySelectorAll('#event-list [data-event-id]').length === 2")
    assert "type=kill" in page.url
    page.select_option("select[name=band]", "low")
    page.wait_for_function("document.querySelectorAll('#event-list [data-event-id]').length === 1")
    page.reload()
    assert page.locator("#event-list [data-event-id]").count() == 1
    assert page.locator("#event-list [data-event-id]").get_attribute("data-event-id") == ids(recording)[2]


def test_the_export_carries_the_review(page_factory, live_server, owner, recording):
    page = open_review(page_factory, live_server, owner, recording)
    page.keyboard.press("a")
    page.wait_for_selector(".s-approved")
    page.keyboard.press("d")
    page.wait_for_selector(".s-deleted")
    with page.expect_download() as download_info:
        page.click("text=Export reviewed JSON")
    document = json.loads(Path(download_info.value.path()).read_text())
    assert document["metadata"]["manually_reviewed"] is True
    events = {e["event_id"]: e for e in document["events"]}
    assert "e1" not in events and events["e0"]["manually_reviewed"] is True and len(events) == 4

    for width, height in ((1280, 800), (1920, 1080)):
        page.set_viewport_size({"width": width, "height": height})
        page.click("text=History")
        page.wait_for_selector("table.changes")
        assert page.locator("table.changes tbody tr").count() == 2
        screenshot(page, f"review-history-{width}x{height}")
        page.go_back()


def test_outsiders_and_anonymous_see_nothing(page_factory, browser, live_server, outsider, recording):
    page = page_factory(outsider)
    response = page.goto(f"{live_server.url}/recordings/{recording.pk}/review/")
    assert response.status == 404
    assert page.request.get(f"{live_server.url}/recordings/{recording.pk}/review/video/").status == 404
    context = browser.new_context()
    anonymous = context.new_page()
    anonymous.goto(f"{live_server.url}/recordings/{recording.pk}/review/")
    assert "/accounts/login/" in anonymous.url
    assert anonymous.locator("[data-event-id]").count() == 0
    context.close()


def test_two_thousand_events_list_navigate_and_act(page_factory, live_server, owner, recording, settings, tmp_path):
    """The 3-hour case: the list, the density bar and the keys with 2,000 events (and real thumbnails).
    How fast the keys are is bench/bench_review.py's business, not a test's."""
    from django.core.files.base import ContentFile
    from PIL import Image, ImageDraw

    from tests.review.factories import make_events

    settings.MEDIA_ROOT = tmp_path / "media"
    DetectedEvent.objects.filter(recording=recording).delete()
    recording.duration_seconds = 3 * 3600
    recording.save(update_fields=["duration_seconds"])
    events = make_events(recording, 2000, duration=3 * 3600 - 60)
    for i, event in enumerate(events[:12]):
        image = Image.new("RGB", (160, 90), (40 + 15 * i, 60, 90))
        ImageDraw.Draw(image).text((8, 36), f"frame {i}", fill=(255, 255, 255))
        buffer = __import__("io").BytesIO()
        image.save(buffer, "JPEG")
        event.thumbnail.save(f"thumb-{i}.jpg", ContentFile(buffer.getvalue()), save=True)
    for width, height in ((1280, 800), (1920, 1080)):
        page = open_review(page_factory, live_server, owner, recording, width, height)
        assert page.locator("#event-list [data-event-id]").count() == 2000
        page.wait_for_function("Array.from(document.querySelectorAll('img.thumb')).slice(0, 5).every(i => i.complete && i.naturalWidth > 0)")
        for _ in range(50):
            page.keyboard.press("j")
        assert selected_id(page) == str(events[50].pk)
        page.keyboard.press("a")
        page.wait_for_selector(f"#ev-{events[50].pk}.s-approved")
        screenshot(page, f"review-2000-{width}x{height}")


def test_restore_brings_a_deleted_event_back(page_factory, live_server, owner, recording):
    page = open_review(page_factory, live_server, owner, recording)
    first = ids(recording)[0]
    page.keyboard.press("d")
    page.wait_for_selector(f"#ev-{first}.s-deleted")
    page.keyboard.press("k")
    assert selected_id(page) == first
    page.keyboard.press("r")
    page.wait_for_selector(f"#ev-{first}.s-unreviewed")
    assert DetectedEvent.objects.get(pk=first).review_status == "unreviewed"
    page.keyboard.press("r")  # on a live event, r does nothing
    assert DetectedEvent.objects.get(pk=first).review_status == "unreviewed"
