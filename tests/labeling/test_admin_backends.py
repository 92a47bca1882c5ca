"""The admin's VLM backend status: health from vlm_check, breaker state from a run's breakers, read-only."""
from __future__ import annotations

import pybreaker
import pytest

from labeling.backend_status import BreakerStatusRecorder
from labeling.backend_status_models import VlmBackendStatus
from tests.conftest import PASSWORD
from tests.factories import JobFactory
from tests.labeling.fake_vlm import FakeVlm

pytestmark = pytest.mark.django_db
URL = "/admin/labeling/vlmbackendstatus/"


@pytest.fixture
def admin_client(client, staff):  # type: ignore[no-untyped-def]
    client.login(username=staff.username, password=PASSWORD)
    return client


def test_the_page_lists_health_and_breaker_state_and_names_configured_backends_never_seen(admin_client, settings):
    settings.VODSCOPE_VLM_BACKENDS = ["ollama", "openai"]
    settings.VODSCOPE_VLM_MODELS = {**settings.VODSCOPE_VLM_MODELS, "ollama": "minicpm-v", "openai": "gpt-4o-mini"}
    VlmBackendStatus.objects.create(backend="ollama:minicpm-v", check_ok=False,
                                    check_message="unreachable at http://gpu:11434: ConnectError",
                                    breaker_state="open", breaker_failures=5)
    content = admin_client.get(URL).content.decode()
    assert "FAILED</b>" in content and "unreachable at http://gpu:11434: ConnectError" in content
    assert "<b>open</b> · 5 consecutive failures" in content
    assert "Configured but never checked nor used: openai:gpt-4o-mini" in content
    assert "Check configured backends now" in content
    assert admin_client.get(URL + "add/").status_code == 403, "rows come from checks and runs only"


def test_check_now_runs_vlm_check_on_each_configured_backend_and_records_it(admin_client, settings):
    with FakeVlm(models=("minicpm-v:latest",)) as server:
        settings.VODSCOPE_VLM_BACKENDS = ["ollama"]
        settings.VODSCOPE_VLM_MODELS = {**settings.VODSCOPE_VLM_MODELS, "ollama": "minicpm-v"}
        settings.VODSCOPE_VLM_URLS = {**settings.VODSCOPE_VLM_URLS, "ollama": server.url}
        response = admin_client.post(URL + "check/", follow=True)
    assert response.status_code == 200
    status = VlmBackendStatus.objects.get(backend="ollama:minicpm-v")
    assert status.check_ok is True and status.check_message.startswith("ok at http://127.0.0.1:")
    assert status.checked_at is not None
    assert "Ollama:minicpm-v: OK ok at" in response.content.decode()  # the admin capitalises messages
    assert admin_client.get(URL + "check/").status_code == 405


def test_a_reviewer_without_staff_rights_cannot_see_it(client, reviewer):
    client.login(username=reviewer.username, password=PASSWORD)
    response = client.get(URL)
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert client.post(URL + "check/").status_code == 302
    assert not VlmBackendStatus.objects.exists()


def test_the_recorder_copies_a_breakers_state_when_it_changes():
    job = JobFactory()
    breaker = pybreaker.CircuitBreaker(fail_max=2, reset_timeout=60, throw_new_error_on_trip=False)
    recorder = BreakerStatusRecorder({"openai:m": breaker}, job=job)
    recorder.record()
    status = VlmBackendStatus.objects.get(backend="openai:m")
    assert (status.breaker_state, status.breaker_failures, status.breaker_job) == ("closed", 0, job)
    first_seen = status.breaker_changed_at
    recorder.record()
    assert VlmBackendStatus.objects.get().breaker_changed_at == first_seen, "nothing changed, nothing written"
    for _ in range(2):
        with pytest.raises(ValueError):
            breaker.call(_fail)
    recorder.record()
    status.refresh_from_db()
    assert (status.breaker_state, status.breaker_failures) == ("open", 2)
    assert status.check_ok is None, "a run says nothing about the last check"


def _fail() -> None:
    raise ValueError("the backend answered 503")
