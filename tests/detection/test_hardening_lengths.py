"""Every text a user sends has a length limit, checked before the database sees it (SQLite ignores
VARCHAR lengths and PostgreSQL raises on them, so without the check one mode stores, the other 500s)."""
from __future__ import annotations

import json

import pytest
from rest_framework.authtoken.models import Token

from detection.models import NOTES_MAX_LENGTH, Recording, Upload
from importer.models import ImportTarget, StreamSession
from tests.conftest import PASSWORD
from tests.factories import RecordingFactory

pytestmark = pytest.mark.django_db
HUGE = "x" * 100_000


def test_a_huge_title_or_notes_is_refused_on_edit(api_client, owner):
    recording = RecordingFactory(owner=owner, title="before")
    client = api_client(owner)
    for body in ({"title": HUGE}, {"title": "t" * 256}, {"notes": HUGE}, {"notes": "n" * (NOTES_MAX_LENGTH + 1)}):
        response = client.patch(f"/api/v1/recordings/{recording.pk}/", body, format="json")
        assert response.status_code == 400, response.content
        assert "detail" in response.json()
    recording.refresh_from_db()
    assert (recording.title, recording.notes) == ("before", "")
    ok = client.patch(f"/api/v1/recordings/{recording.pk}/", {"title": "t" * 255, "notes": "n" * NOTES_MAX_LENGTH},
                      format="json")
    assert ok.status_code == 200, ok.content


def test_the_service_checks_lengths_itself(owner):
    from detection.services.ingest import IngestError, recording_update

    recording = RecordingFactory(owner=owner, title="before")
    with pytest.raises(IngestError, match="255"):
        recording_update(recording=recording, title=HUGE)
    with pytest.raises(IngestError, match=str(NOTES_MAX_LENGTH)):
        recording_update(recording=recording, notes=HUGE)


def test_huge_notes_or_paths_are_refused_at_registration_and_upload(api_client, owner, library):
    client = api_client(owner)
    long_path = str(library / "/".join(["d" * 200] * 6) / "v.mkv")
    for url, body in [
        ("/api/v1/recordings/", {"path": str(library / "a.mkv"), "notes": HUGE}),
        ("/api/v1/recordings/", {"path": long_path}),
        ("/api/v1/recordings/register-folder/", {"path": str(library), "notes": HUGE}),
        ("/api/v1/uploads/", {"filename": "a.mkv", "size": 10, "notes": HUGE}),
        ("/api/v1/uploads/", {"filename": HUGE + ".mkv", "size": 10}),
    ]:
        response = client.post(url, body, format="json")
        assert response.status_code == 400, (url, response.content[:300])
    assert not Recording.objects.exists() and not Upload.objects.exists()


def test_hosted_session_notes_have_a_limit(client, owner):
    auth = {"HTTP_AUTHORIZATION": f"Bearer {Token.objects.get_or_create(user=owner)[0].key}"}
    body = {"session_type": "stream", "notes": HUGE}
    response = client.post("/api/session", data=json.dumps(body), content_type="application/json", **auth)
    assert response.status_code == 400 and "notes" in response.json()["error"]
    whole = {"session": {**body, "started_at": "2026-01-15T18:00:00Z"}, "raids": []}
    response = client.post("/api/import/session", data=json.dumps(whole), content_type="application/json", **auth)
    assert response.status_code == 400 and "notes" in response.json()["error"]
    assert not StreamSession.objects.exists()


def test_import_target_url_has_a_limit(client, owner):
    client.login(username=owner.username, password=PASSWORD)
    response = client.post("/importer/target/", {"api_url": "http://example.com/" + "a" * 300, "token": "t"})
    assert response.status_code == 200
    assert not ImportTarget.objects.exists()
