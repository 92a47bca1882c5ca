"""Hostile paths at registration: loops, over-long names, broken links answer 400 and leave no rows."""
from __future__ import annotations

import pytest

from detection.models import Recording
from tests.conftest import render_test_video

pytestmark = pytest.mark.django_db


def test_a_symlink_loop_is_a_400(api_client, owner, library):
    (library / "loop.mkv").symlink_to(library / "loop.mkv")
    (library / "a.mkv").symlink_to(library / "b.mkv")
    (library / "b.mkv").symlink_to(library / "a.mkv")
    client = api_client(owner)
    for name in ("loop.mkv", "a.mkv"):
        for url in ("/api/v1/recordings/", "/api/v1/recordings/register-folder/"):
            response = client.post(url, {"path": str(library / name)}, format="json")
            assert response.status_code == 400, (url, name, response.content)
            assert "symlink" in response.json()["detail"]
    assert not Recording.objects.exists()


@pytest.mark.parametrize("name", ["x" * 300 + ".mkv", "é" * 130 + ".mkv", "sub/" + "y" * 256 + "/v.mkv"])
def test_a_name_over_255_bytes_is_a_400(api_client, owner, library, name):
    response = api_client(owner).post("/api/v1/recordings/", {"path": str(library / name)}, format="json")
    assert response.status_code == 400, response.content
    assert "255 bytes" in response.json()["detail"]


def test_a_path_with_a_nul_byte_is_a_400(api_client, owner, library):
    response = api_client(owner).post("/api/v1/recordings/", {"path": str(library) + "/a\x00.mkv"}, format="json")
    assert response.status_code == 400, response.content


def test_a_folder_with_bad_entries_registers_the_rest_and_reports_each(api_client, owner, library):
    good = render_test_video(library / "good.mkv")
    (library / "broken.mkv").symlink_to(library / "gone.mkv")
    (library / "loop.mkv").symlink_to(library / "loop.mkv")
    response = api_client(owner).post("/api/v1/recordings/register-folder/", {"path": str(library)}, format="json")
    assert response.status_code == 201, response.content
    by_name = {item["path"].rsplit("/", 1)[-1]: item for item in response.json()}
    assert by_name["good.mkv"]["status"] == "created"
    assert by_name["broken.mkv"]["status"] == "error"
    assert "no such file" in by_name["broken.mkv"]["message"]
    assert by_name["loop.mkv"]["status"] == "error"
    assert "symlink" in by_name["loop.mkv"]["message"]
    assert list(Recording.objects.values_list("source_path", flat=True)) == [str(good)]



@pytest.mark.parametrize("moment", ["0001-01-01T00:00:00Z", "9999-12-31T23:59:59Z"])
def test_a_start_time_at_the_ends_of_the_calendar_is_refused(api_client, client, owner, moment):
    from tests.conftest import PASSWORD
    from tests.factories import RecordingFactory

    recording = RecordingFactory(owner=owner)
    before = recording.started_at
    response = api_client(owner).patch(f"/api/v1/recordings/{recording.pk}/", {"started_at": moment}, format="json")
    assert response.status_code == 400 and "start time" in response.json()["detail"]
    upload = api_client(owner).post("/api/v1/uploads/", {"filename": "a.mkv", "size": 9, "started_at": moment},
                                    format="json")
    assert upload.status_code == 400
    client.login(username=owner.username, password=PASSWORD)
    page = client.post(f"/recordings/{recording.pk}/started-at/", {"started_at": moment[:19]}, follow=True)
    assert page.status_code == 200 and b"start time" in page.content
    recording.refresh_from_db()
    assert recording.started_at == before
