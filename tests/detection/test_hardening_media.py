"""The API never advertises a /media/ URL (media is not served); the video it points at answers, to those allowed."""
from __future__ import annotations

import pytest

from detection.models import Recording
from tests.conftest import PASSWORD

pytestmark = pytest.mark.django_db


def test_an_uploaded_recording_points_at_a_video_url_that_plays(api_client, client, owner, outsider, video):
    data = video.read_bytes()
    video.unlink()
    api = api_client(owner)
    url = api.post("/api/v1/uploads/", {"filename": "up.mkv", "size": len(data)}, format="json").json()["url"]
    done = api.patch(url, data, content_type="application/offset+octet-stream", HTTP_UPLOAD_OFFSET="0")
    assert done.status_code == 201, done.content
    body = api.get(f"/api/v1/recordings/{done.json()['id']}/").json()
    assert "/media/" not in body["uploaded_file"] and not body["uploaded_file"].startswith("http")
    assert body["uploaded_file"] == Recording.objects.get().uploaded_file.name
    client.login(username=owner.username, password=PASSWORD)
    played = client.get(body["video_url"], HTTP_RANGE="bytes=0-99")
    assert played.status_code == 206 and b"".join(played.streaming_content) == data[:100]
    client.login(username=outsider.username, password=PASSWORD)
    assert client.get(body["video_url"]).status_code == 404


def test_an_event_thumbnail_is_the_review_view_not_media(api_client, client, owner, outsider, settings, tmp_path):
    from tests.factories import DetectedEventFactory, RecordingFactory

    settings.MEDIA_ROOT = tmp_path
    (tmp_path / "thumbnails").mkdir()
    (tmp_path / "thumbnails" / "t.jpg").write_bytes(b"\xff\xd8jpeg")
    event = DetectedEventFactory(recording=RecordingFactory(owner=owner), thumbnail="thumbnails/t.jpg")
    bare = DetectedEventFactory(recording=event.recording)
    rows = {row["id"]: row for row in api_client(owner).get("/api/v1/events/").json()["results"]}
    assert rows[bare.pk]["thumbnail"] is None
    url = rows[event.pk]["thumbnail"]
    assert "/media/" not in url
    client.login(username=owner.username, password=PASSWORD)
    assert client.get(url).status_code == 200
    client.login(username=outsider.username, password=PASSWORD)
    assert client.get(url).status_code == 404
