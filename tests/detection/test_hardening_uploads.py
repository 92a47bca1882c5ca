"""Uploads the server refuses leave no row and no `.part` file behind."""
from __future__ import annotations

import pytest

from detection.models import Upload

pytestmark = pytest.mark.django_db


def _part_files(settings):  # type: ignore[no-untyped-def]
    partial = settings.VODSCOPE_UPLOAD_DIR / "partial"
    return list(partial.iterdir()) if partial.exists() else []


@pytest.mark.parametrize("size", [2**70, 2**63, 10**30])
def test_an_absurd_declared_size_is_refused_and_leaves_nothing(api_client, owner, settings, library, size):
    response = api_client(owner).post("/api/v1/uploads/", {"filename": "huge.mkv", "size": size}, format="json")
    assert response.status_code == 400, response.content
    assert "larger than the" in response.json()["detail"], response.json()
    assert not Upload.objects.exists() and _part_files(settings) == []


def test_the_configured_maximum_is_the_limit(api_client, owner, settings, library):
    settings.VODSCOPE_MAX_UPLOAD_BYTES = 1000
    client = api_client(owner)
    refused = client.post("/api/v1/uploads/", {"filename": "big.mkv", "size": 1001}, format="json")
    assert refused.status_code == 400 and "1000 bytes" in refused.json()["detail"]
    assert not Upload.objects.exists() and _part_files(settings) == []
    assert client.post("/api/v1/uploads/", {"filename": "ok.mkv", "size": 1000}, format="json").status_code == 201


@pytest.mark.pure
@pytest.mark.parametrize("value", ["lots", "0", "-5", str(2**63)])
def test_a_bad_maximum_stops_the_app_at_start_up(tmp_path, value):
    from tests.project.test_settings import _settings_check

    result = _settings_check({"VODSCOPE_HOME": str(tmp_path), "VODSCOPE_MAX_UPLOAD_BYTES": value}, "print(1)")
    assert result.returncode != 0
    assert "VODSCOPE_MAX_UPLOAD_BYTES" in result.stderr
