"""The review page's label lane and its correction endpoint: segments, validation (400), permission, audit."""
from __future__ import annotations

import json

import pytest
from django.contrib.admin.models import LogEntry

from detection.models import Job
from labeling.vlm_models import WindowLabel
from tests.conftest import PASSWORD
from tests.factories import JobFactory
from tests.labeling.fake_vlm import GOOD_LABEL

pytestmark = pytest.mark.django_db
HTMX = {"HTTP_HX_REQUEST": "true"}


def window(recording, index: int, **fields) -> WindowLabel:  # type: ignore[no-untyped-def]
    values = {
        "video_path": recording.source_path, "prompt_version": "tactical_v1", "spec": "5x2/2", "window_index": index,
        "start": 2.0 * index, "end": 2.0 * index + 2.0, "frames": [], "status": WindowLabel.Status.LABELLED,
        "label": dict(GOOD_LABEL), "ocr": {"health": 73, "shield": 40}, "source": WindowLabel.Source.VLM,
        "backend": "ollama:minicpm-v",
    }
    values.update(fields)
    return WindowLabel.objects.create(recording=recording, **values)


def correct_url(row: WindowLabel) -> str:
    return f"/recordings/{row.recording_id}/review/labels/{row.pk}/correct/"


@pytest.fixture
def labels(recording):  # type: ignore[no-untyped-def]
    return [
        window(recording, 0),
        window(recording, 1, label={**GOOD_LABEL, "tactic": "fleeing", "health": 90}, flagged=True),
        window(recording, 2, status=WindowLabel.Status.FAILED, label=None, source=WindowLabel.Source.NONE,
               error="invalid answer after one repair"),
    ]


def login(client, user):  # type: ignore[no-untyped-def]
    client.login(username=user.username, password=PASSWORD)
    return client


def test_the_page_shows_a_segment_per_window_coloured_by_the_tactics_place_in_the_vocabulary(client, owner, labels):
    content = login(client, owner).get(f"/recordings/{labels[0].recording_id}/review/").content.decode()
    assert content.count('class="seg ') == 3
    # demo vocabulary: kiting is the first tactic, fleeing the fourth
    assert f'class="seg k0" style="left:0.000%;width:' in content
    assert f'class="seg k3 flagged"' in content and "flagged: health VLM 90 vs OCR 73" in content
    assert 'class="seg failed"' in content and "failed: invalid answer after one repair" in content
    assert "kiting · health 73 · shield 40 · intent true · confidence 0.80" in content
    assert "<kbd>1</kbd> kiting" in content  # the legend names each tactic's number key


def test_a_recording_without_labels_has_an_empty_hidden_lane(client, owner, recording):
    content = login(client, owner).get(f"/recordings/{recording.pk}/review/").content.decode()
    assert 'id="label-lane"' in content and 'class="seg' not in content


def test_only_the_latest_written_set_of_labels_is_shown(client, owner, recording):
    window(recording, 0, prompt_version="old")
    window(recording, 0)
    window(recording, 1)
    content = login(client, owner).get(f"/recordings/{recording.pk}/review/labels/").content.decode()
    assert content.count('class="seg ') == 2


def test_a_correction_is_stored_audited_and_wins_in_the_lane(client, reviewer, labels):
    row = labels[0]
    form = login(client, reviewer).get(correct_url(row), **HTMX).content.decode()
    assert 'name="tactic"' in form and 'value="kiting" data-key="1" selected' in form
    response = client.post(correct_url(row), {"tactic": "healing", "health": "55", "shield": "",
                                              "intent_matches": "false"}, **HTMX)
    assert response.status_code == 200
    assert "Label saved" in response["HX-Trigger"]
    row.refresh_from_db()
    assert row.label == GOOD_LABEL, "the model's label is kept"
    assert row.corrected_label == {**GOOD_LABEL, "tactic": "healing", "health": 55, "shield": None,
                                   "intent_matches": "false", "confidence": 1.0}
    assert row.effective_label == row.corrected_label and row.corrected_by == reviewer and row.corrected_at
    healing = 'class="seg k6 corrected"'  # healing is the seventh tactic
    assert healing in response.content.decode()
    entry = LogEntry.objects.get(object_id=str(row.pk))
    assert entry.user == reviewer
    changes = json.loads(entry.change_message.split(": ", 1)[1])
    assert changes == {"tactic": ["kiting", "healing"], "health": [73, 55], "shield": [40, None],
                       "intent_matches": ["true", "false"]}


def test_a_failed_window_can_be_labelled_by_hand_from_ocrs_values(client, owner, labels):
    row = labels[2]
    form = login(client, owner).get(correct_url(row), **HTMX).content.decode()
    assert 'name="health" min="0" max="100" step="1" value="73"' in form
    response = client.post(correct_url(row), {"tactic": "looting", "health": "73", "shield": "40",
                                              "intent_matches": "unknown"}, **HTMX)
    assert response.status_code == 200
    row.refresh_from_db()
    assert row.status == WindowLabel.Status.FAILED and row.label is None
    assert row.effective_label is not None and row.effective_label["tactic"] == "looting"


@pytest.mark.parametrize(("field", "value", "message"), [
    ("tactic", "dancing", "tactic: &#x27;dancing&#x27; is not one of kiting, box_collecting"),
    ("health", "101", "health: 101 is outside 0-100"),
    ("shield", "lots", "shield: &#x27;lots&#x27; is not a whole number"),
    ("intent_matches", "maybe", "intent_matches: &#x27;maybe&#x27; is not one of true, false, unknown"),
])
def test_a_value_outside_the_schema_is_a_400_saying_why_and_nothing_is_stored(client, owner, labels, field, value,
                                                                               message):
    row = labels[0]
    values = {"tactic": "kiting", "health": "70", "shield": "40", "intent_matches": "true", field: value}
    response = login(client, owner).post(correct_url(row), values, **HTMX)
    assert response.status_code == 400
    assert message in response.content.decode()
    assert response["HX-Retarget"] == "#label-popup" and 'class="label-form"' in response.content.decode()
    row.refresh_from_db()
    assert row.corrected_label is None and not LogEntry.objects.exists()


def test_an_outsider_gets_404_and_a_window_of_another_recording_is_404(client, outsider, owner, labels, recording):
    row = labels[0]
    client = login(client, outsider)
    assert client.get(correct_url(row)).status_code == 404
    assert client.post(correct_url(row), {"tactic": "kiting", "intent_matches": "true"}).status_code == 404
    assert client.get(f"/recordings/{row.recording_id}/review/labels/").status_code == 404
    row.refresh_from_db()
    assert row.corrected_label is None
    client.logout()
    assert client.post(correct_url(row), {"tactic": "kiting", "intent_matches": "true"}).status_code == 302
    other = type(recording).objects.create(owner=owner, title="other", source_path=recording.source_path)
    assert login(client, owner).get(f"/recordings/{other.pk}/review/labels/{row.pk}/correct/").status_code == 404


def test_without_htmx_a_saved_correction_goes_back_to_the_page(client, owner, labels):
    row = labels[0]
    response = login(client, owner).post(correct_url(row), {"tactic": "kiting", "health": "1", "shield": "2",
                                                            "intent_matches": "true"})
    assert response.status_code == 302 and response["Location"] == f"/recordings/{row.recording_id}/review/"


def test_while_a_vlm_job_runs_the_jobs_poll_carries_the_lanes_stamp(client, owner, labels):
    recording = labels[0].recording
    client = login(client, owner)
    page = client.get(f"/recordings/{recording.pk}/review/").content.decode()
    JobFactory(kind=Job.Kind.VLM, recording=recording, status=Job.Status.RUNNING)
    trigger = json.loads(client.get(f"/recordings/{recording.pk}/review/jobs/", **HTMX)["HX-Trigger"])
    stamp = trigger["review:labels"]["stamp"]
    assert f'data-lane-stamp="{stamp}"' in page, "nothing written since the page: the lane is not fetched again"
    window(recording, 3)
    trigger = json.loads(client.get(f"/recordings/{recording.pk}/review/jobs/", **HTMX)["HX-Trigger"])
    assert trigger["review:labels"]["stamp"] != stamp and trigger["review:labels"]["stamp"].startswith("4:")
