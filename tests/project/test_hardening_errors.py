"""Every error under /api/ is JSON in that API's shape; a WebSocket to no route is closed, not a 500."""
from __future__ import annotations

import json

import pytest
from asgiref.sync import async_to_sync
from channels.testing import WebsocketCommunicator
from rest_framework.authtoken.models import Token

pytestmark = pytest.mark.django_db


@pytest.fixture
def auth(owner):  # type: ignore[no-untyped-def]
    return {"HTTP_AUTHORIZATION": f"Token {Token.objects.get_or_create(user=owner)[0].key}"}


def _json(response):  # type: ignore[no-untyped-def]
    assert response["Content-Type"].startswith("application/json"), (response.status_code, response.content[:200])
    return json.loads(response.content)


@pytest.mark.parametrize(
    "path", ["/api/v1/nope/", "/api/v1/recordings/999999/", "/api/v1/recordings/abc/", "/api/v1/uploads/not-a-uuid/",
             "/api/v1/jobs/999999/cancel/"]
)
def test_unknown_paths_and_ids_under_v1_are_json_404(client, auth, path):
    response = client.get(path, **auth) if not path.endswith("cancel/") else client.post(path, **auth)
    assert response.status_code == 404
    assert "detail" in _json(response)


@pytest.mark.parametrize("path", ["/api/nope", "/api/raid/abc", "/api/raid/999999", "/api/raid/99999999999999999999999/end"])
def test_unknown_paths_and_ids_of_the_hosted_api_are_json_404(client, auth, path):
    response = client.get(path, **auth)
    assert response.status_code in (404, 405)
    assert "error" in _json(response)


def test_oversized_bodies_answer_json_in_each_shape(client, auth, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1000
    big = json.dumps({"notes": "x" * 5000})
    v1 = client.post("/api/v1/recordings/", data=big, content_type="application/json", **auth)
    assert v1.status_code == 413 and "1000 bytes" in _json(v1)["detail"]
    hosted = client.post("/api/session", data=big, content_type="application/json", **auth)
    assert hosted.status_code == 413 and "1000 bytes" in _json(hosted)["error"]


def test_validation_errors_carry_a_detail_line_beside_the_fields(client, auth):
    response = client.post("/api/v1/recordings/", data="{}", content_type="application/json", **auth)
    body = _json(response)
    assert response.status_code == 400
    assert body["path"] and body["detail"].startswith("path:")


def test_pages_keep_their_html_404(client, owner):
    from tests.conftest import PASSWORD

    client.login(username=owner.username, password=PASSWORD)
    response = client.get("/recordings/999999/review/")
    assert response.status_code == 404 and not response["Content-Type"].startswith("application/json")


@pytest.mark.parametrize("path", ["/ws/nothing/", "/"])
def test_a_websocket_to_no_route_is_refused_cleanly(path):
    from project.asgi import application

    async def attempt() -> tuple[bool, object]:
        communicator = WebsocketCommunicator(application, path, headers=[(b"origin", b"http://localhost")])
        connected, code = await communicator.connect()
        await communicator.disconnect()
        return connected, code

    connected, code = async_to_sync(attempt)()
    assert not connected
    assert code in (403, 1000, 4404)


@pytest.mark.parametrize("text", ["a\x00b", "a\ud800b"])
def test_text_no_database_can_store_is_a_400_in_both_apis(client, auth, text):
    from importer.models import StreamSession

    body = json.dumps({"session_type": "stream", "notes": text})
    hosted = client.post("/api/session", data=body, content_type="application/json", **auth)
    assert hosted.status_code == 400 and "body.notes" in _json(hosted)["error"]
    v1 = client.post("/api/v1/jobs/", data=json.dumps({"recording": 1, "params": {"label": text}}),
                     content_type="application/json", **auth)
    assert v1.status_code == 400 and "body.params.label" in _json(v1)["detail"]
    assert not StreamSession.objects.exists()


def test_too_many_form_fields_answer_json(client, auth, settings):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 5
    form = "&".join(f"f{i}=1" for i in range(20))
    response = client.post("/api/v1/recordings/", data=form, content_type="application/x-www-form-urlencoded", **auth)
    assert response.status_code == 400 and "DATA_UPLOAD_MAX_NUMBER_FIELDS" in _json(response)["detail"]
    hosted = client.post("/api/session", data=form, content_type="application/x-www-form-urlencoded", **auth)
    assert hosted.status_code < 500 and "error" in _json(hosted)
