"""The game profile's event schema drives the review pages: a second game's file, no code, changes them."""
from __future__ import annotations

import re

import pytest

from detection.models import DetectedEvent
from tests.conftest import PASSWORD
from tests.review.factories import EventFactory, write_second_game_profile

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


@pytest.fixture
def second_game(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.VODSCOPE_GAME_PROFILE = str(write_second_game_profile(tmp_path / "second.yaml"))


@pytest.fixture
def client(client, owner):  # type: ignore[no-untyped-def]
    client.login(username=owner.username, password=PASSWORD)
    return client


def url(recording, suffix: str = "") -> str:  # type: ignore[no-untyped-def]
    return f"/recordings/{recording.pk}/review/{suffix}"


def options(html: str, name: str) -> list[str]:
    select = re.search(rf'<select name="{name}"[^>]*>(.*?)</select>', html, re.S)
    assert select, f"no select {name}"
    return re.findall(r'<option value="([^"]*)"', select.group(1))


def test_the_edit_form_offers_the_profiles_own_choices(second_game, client, recording):
    event = EventFactory(recording=recording, data={"enemy_type": "zombie", "weapon": "AKM", "headshot": False})
    form = client.get(url(recording, f"events/{event.pk}/edit/"), **HTMX).content.decode()
    assert options(form, "kill-enemy_type") == ["", "zombie", "wraith", "lich"]
    assert options(form, "kill-distance") == ["", "near", "far"]
    assert options(form, "event_type") == ["state_transition", "raid_start", "kill", "raid_end", "loot"]
    assert ">Loot found</option>" in form and 'name="loot-item"' in form and "Distance" in form


def test_the_demo_profile_offers_its_own(client, recording):
    event = EventFactory(recording=recording)
    form = client.get(url(recording, f"events/{event.pk}/edit/"), **HTMX).content.decode()
    assert options(form, "kill-enemy_type") == ["", "scav", "pmc", "raider", "rogue", "boss", "cultist"]
    assert 'name="kill-distance"' not in form and "loot" not in form


def test_filters_lanes_and_legend_follow_the_profile(second_game, client, recording):
    EventFactory(recording=recording, event_type="loot", data={"item": "gold"})
    page = client.get(url(recording)).content.decode()
    assert 'name="type" value="loot"' in page and "Loot found" in page
    assert "--lanes:5" in page and "tick l4 t-loot c4" in page and "chip t-loot c4" in page
    listed = client.get(url(recording) + "?type=loot", HTTP_HX_TARGET="event-list", **HTMX).content.decode()
    assert listed.count("data-event-id=") == 1 and "gold" in listed


def test_edits_are_checked_against_the_profile_and_a_bad_value_is_never_stored(second_game, client, recording):
    event = EventFactory(recording=recording, data={"enemy_type": "zombie", "weapon": "AKM", "headshot": False})
    edit = url(recording, f"events/{event.pk}/edit/")
    fields = {"event_type": "kill", "video_offset_seconds": "1.0", "kill-weapon": "VSS", "kill-distance": "far"}
    refused = client.post(edit, {**fields, "kill-enemy_type": "scav"}, **HTMX)
    assert refused.status_code == 200 and b'class="error"' in refused.content
    event.refresh_from_db()
    assert event.data["enemy_type"] == "zombie" and event.review_status == "unreviewed"
    saved = client.post(edit, {**fields, "kill-enemy_type": "lich"}, **HTMX)
    assert b"s-edited" in saved.content
    event.refresh_from_db()
    assert event.data == {"enemy_type": "lich", "weapon": "VSS", "headshot": False, "distance": "far"}


def test_a_value_read_outside_the_profile_shows_but_cannot_be_saved(second_game, client, recording):
    event = EventFactory(recording=recording)  # enemy_type "scav": not a word of the second game
    edit = url(recording, f"events/{event.pk}/edit/")
    form = client.get(edit, **HTMX).content.decode()
    assert "scav (as read, not in the profile)" in form
    fields = {"event_type": "kill", "video_offset_seconds": "1.0", "kill-weapon": "AKM", "kill-distance": "near"}
    refused = client.post(edit, {**fields, "kill-enemy_type": "scav"}, **HTMX).content.decode()
    assert "enemy_type &#x27;scav&#x27; is not one of" in refused
    assert DetectedEvent.objects.get(pk=event.pk).review_status == "unreviewed"


def test_adding_and_exporting_follow_the_profile(second_game, client, recording):
    added = client.post(
        url(recording, "events/add/"), {"event_type": "loot", "video_offset_seconds": "2", "loot-item": "gold ring"}, **HTMX
    )
    assert added.status_code == 200
    event = DetectedEvent.objects.get(recording=recording, source="manual")
    assert (event.event_type, event.data) == ("loot", {"item": "gold ring"})
    EventFactory(recording=recording, data={"distance": "near", "headshot": True, "weapon": "VSS", "enemy_type": "lich"})
    document = client.get(url(recording, "export.json")).json()
    assert document["metadata"]["game_profile"] == "second-game"
    kill = next(e for e in document["events"] if e["type"] == "kill")
    assert list(kill["data"]) == ["enemy_type", "weapon", "headshot", "distance"]  # the profile's order


def test_the_importers_plan_reads_only_types_and_fields_the_demo_profile_declares():
    """importer/plan.py maps the demo game's events onto the stream-producer contract (a game of its own);
    if the profile renames what it reads, this fails instead of the import silently dropping events."""
    from detection.pipeline.profile import load_profile
    from importer.plan import EVENT_ORDER

    events = load_profile("demo").events
    assert set(EVENT_ORDER) == set(events)
    read = {
        "raid_start": {"map_name", "character_type", "game_mode"},
        "state_transition": {"to_state"},
        "kill": {"enemy_type", "weapon", "headshot"},
        "raid_end": {"outcome", "extract_location"},
    }
    for event_type, fields in read.items():
        assert fields <= set(events[event_type].field_names), event_type
