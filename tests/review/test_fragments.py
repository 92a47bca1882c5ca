from __future__ import annotations

import pytest

from review.fragments import data_summary, event_row_html, format_offset, timeline_html
from review.selectors import EventRow, TimelineTick

pytestmark = pytest.mark.pure


def row(**overrides: object) -> EventRow:
    values: dict[str, object] = dict(
        pk=7, event_type="kill", video_offset_seconds=3725.46, confidence=0.5,
        data={"weapon": "AKM", "enemy_type": "scav", "headshot": True}, thumbnail="", source="detector",
        review_status="unreviewed",
    )  # fmt: skip
    values.update(overrides)
    return EventRow(**values)  # type: ignore[arg-type]


def test_a_row_carries_what_the_keyboard_and_tests_need():
    html = event_row_html(row(), threshold=0.8, events_url="/recordings/1/review/events/")
    assert html.startswith('<li id="ev-7" class="ev s-unreviewed low"')
    assert 'data-event-id="7"' in html and 'aria-selected="false"' in html and 'data-offset="3725.460"' in html
    assert "1:02:05.4" in html and "scav · AKM · headshot" in html and "0.50" in html
    assert 'class="badge low"' in html and "<img" not in html


def test_a_row_escapes_what_came_from_the_database():
    html = event_row_html(
        row(event_type='<script>x</script>', data={"weapon": '"><img onerror=1>'}, thumbnail="t.jpg", review_status="approved"),
        threshold=0.1,
        events_url="/e/",
    )
    assert "<script>" not in html and "<img onerror" not in html and "&lt;script&gt;" in html
    assert 'src="/e/7/thumbnail/"' in html and 'loading="lazy"' in html
    assert 'class="badge st">approved' in html and "badge low" not in html


def test_data_summary_follows_the_profile_order():
    assert data_summary({"headshot": False, "weapon": "M4A1", "enemy_type": "pmc"}, "kill") == "pmc · M4A1"
    assert data_summary({"map_name": "streets_of_tarkov"}, "raid_start") == "streets of tarkov"
    assert format_offset(59.99) == "0:00:59.9"


def test_timeline_is_one_element_per_tick():
    html = timeline_html([TimelineTick(left=12.5, lane=2, event_type="kill", count=3, strength=0.8, offset=10.0)])
    assert html.count("<i ") == 1 and "left:12.5%" in html and "l2 t-kill" in html and "3 × kill" in html


def test_an_inferred_event_says_so_and_a_listed_kill_says_when_it_could_have_happened():
    listed = event_row_html(row(inferred=True, happened_between=[600.0, 750.5]), threshold=0.8, events_url="/e/")
    assert 'class="badge inferred"' in listed and "between 0:10:00.0 and 0:12:30.5" in listed
    implied = event_row_html(row(event_type="raid_end", inferred=True), threshold=0.8, events_url="/e/")
    assert 'class="badge inferred" title="Not seen: implied by the screens around it"' in implied
    assert "badge inferred" not in event_row_html(row(), threshold=0.8, events_url="/e/")
    placed = event_row_html(row(video_offset_seconds=700.0, inferred=True, happened_between=[600.0, 750.5]),
                            threshold=0.8, events_url="/e/")
    assert "placed where a notification showed that could not be read" in placed
