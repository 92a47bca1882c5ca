"""The text model of session reasoning: its settings, and vlm_check's text-only check of it (fake_vlm.py)."""
from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from detection.models import Job
from labeling.backend_status_models import VlmBackendStatus
from labeling.reasoning.text_model import text_backend_config
from labeling.services.vlm_check import text_backend_check
from project.jobs.registry import job_kind_for
from project.jobs.runner import job_run
from tests.conftest import PASSWORD
from tests.factories import JobFactory, RecordingFactory
from tests.labeling.fake_vlm import FakeVlm, Reply
from tests.labeling.test_reasoning import good, session


@override_settings(VODSCOPE_TEXT_BACKEND="ollama", VODSCOPE_TEXT_MODEL="llama3", VODSCOPE_TEXT_BASE_URL="http://t:1",
                   VODSCOPE_VLM_MODELS={"ollama": "minicpm-v", "openai": "gpt-4o-mini"},
                   VODSCOPE_VLM_URLS={"ollama": "http://v:1", "openai": "http://o:1/v1"})
def test_the_text_model_comes_from_its_own_settings_unless_told_otherwise():
    config = text_backend_config()
    assert (config.type_key, config.model, config.base_url) == ("ollama", "llama3", "http://t:1")
    assert text_backend_config(model="qwen2.5").model == "qwen2.5"
    other = text_backend_config("openai")  # another backend: its own VLM settings, not the text model's
    assert (other.model, other.base_url) == ("gpt-4o-mini", "http://o:1/v1")
    assert text_backend_config("openai", model="llama3", base_url="http://x/v1").model == "llama3"


@pytest.mark.django_db
def test_the_summarize_job_without_parameters_asks_the_text_model():
    recording = RecordingFactory()
    session(recording, 1)
    with FakeVlm(reply=good) as server, override_settings(
            VODSCOPE_TEXT_BACKEND="ollama", VODSCOPE_TEXT_MODEL="llama3", VODSCOPE_TEXT_BASE_URL=server.url):
        job = JobFactory(kind=Job.Kind.SUMMARIZE, recording=recording, status=Job.Status.QUEUED, params={})
        job = job_run(job_id=job.pk, handler=job_kind_for(Job.Kind.SUMMARIZE).handler)
    assert job is not None and job.status == Job.Status.SUCCEEDED, job.error if job else ""
    assert job.result["model"] == "ollama:llama3"
    assert {seen.body["model"] for seen in server.seen} == {"llama3"}


@pytest.mark.parametrize(("key", "suffix"), [("ollama", ""), ("openai", "/v1")])
def test_a_text_model_is_checked_with_one_text_request_and_no_image(key, suffix):
    with FakeVlm(models=("llama3",), reply=lambda n, seen: Reply(text=json.dumps({"ok": True}))) as server:
        check = text_backend_check(text_backend_config(key, model="llama3", base_url=server.url + suffix))
    assert check.ok, check.message
    assert check.backend == f"{key}:llama3" and "a text request answered in JSON" in check.message
    [seen] = server.seen
    assert seen.images == 0 and seen.temperature == 0.0


def test_a_text_model_check_says_exactly_what_is_wrong():
    with FakeVlm(models=("llama3",), reply=lambda n, seen: Reply(text="Sure, ok!")) as server:
        wrong = text_backend_check(text_backend_config("ollama", model="llama3", base_url=server.url))
        missing = text_backend_check(text_backend_config("ollama", model="mistral", base_url=server.url))
    assert not wrong.ok and "answered outside the JSON schema (not JSON" in wrong.message
    assert not missing.ok and "model 'mistral' not offered" in missing.message and len(server.seen) == 1
    down = text_backend_check(text_backend_config("ollama", model="llama3", base_url="http://127.0.0.1:9"))
    assert not down.ok and "unreachable at http://127.0.0.1:9" in down.message


@pytest.mark.django_db
def test_the_admin_backend_status_counts_the_text_model_as_configured(client, staff, settings):
    settings.VODSCOPE_VLM_BACKENDS = ["ollama"]
    settings.VODSCOPE_VLM_MODELS = {**settings.VODSCOPE_VLM_MODELS, "ollama": "minicpm-v"}
    settings.VODSCOPE_TEXT_BACKEND, settings.VODSCOPE_TEXT_MODEL = "ollama", "llama3"
    client.login(username=staff.username, password=PASSWORD)
    content = client.get("/admin/labeling/vlmbackendstatus/").content.decode()
    assert "Configured but never checked nor used: ollama:minicpm-v, ollama:llama3" in content
    VlmBackendStatus.objects.create(backend="ollama:llama3", breaker_state="closed", breaker_failures=0)
    content = client.get("/admin/labeling/vlmbackendstatus/").content.decode()
    assert "never checked nor used: ollama:minicpm-v<" in content and 'alt="True"' in content


@pytest.mark.django_db
def test_vlm_check_checks_the_text_model_after_the_vlms(capsys, settings):
    with FakeVlm(models=("minicpm-v", "llama3"), reply=lambda n, seen: Reply(text=json.dumps({"ok": True}))) as server:
        settings.VODSCOPE_VLM_BACKENDS = []
        settings.VODSCOPE_TEXT_BACKEND, settings.VODSCOPE_TEXT_MODEL = "ollama", "llama3"
        settings.VODSCOPE_TEXT_BASE_URL = server.url
        call_command("vlm_check")
        assert "ollama:llama3 (text model): OK ok at" in capsys.readouterr().out
        call_command("vlm_check", "--text", "--backend", "openai", "--base-url", server.url + "/v1", "--model", "llama3")
        assert "openai:llama3 (text model): OK" in capsys.readouterr().out
        with pytest.raises(CommandError, match="1 of 1 VLM backends unusable"):
            call_command("vlm_check", "--text", "--model", "mistral")
        assert "model 'mistral' not offered" in capsys.readouterr().out
    assert [seen.images for seen in server.seen] == [0, 0]
    assert VlmBackendStatus.objects.get(backend="ollama:mistral").check_ok is False  # the admin's backend health
