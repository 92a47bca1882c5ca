"""Each backend through its real client against a local server speaking its HTTP protocol."""
from __future__ import annotations

import pytest
from asgiref.sync import async_to_sync

from labeling.backends.base import BackendConfig, BackendError, VlmRequest, backend_create
from tests.labeling.fake_vlm import FakeVlm, Reply

REQUEST = VlmRequest(system="you label", prompt="what happens?", images=(b"\xff\xd8one", b"\xff\xd8two", b"\xff\xd8three"),
                     schema={"type": "object", "properties": {"tactic": {"type": "string"}}})
PROTOCOLS = [("gemini", ""), ("ollama", ""), ("openai", "/v1")]


def ask(key: str, url: str, request: VlmRequest = REQUEST):  # type: ignore[no-untyped-def]
    backend = backend_create(BackendConfig(type_key=key, model="test-model", base_url=url, api_key="k", seed=7))

    async def go():  # type: ignore[no-untyped-def]
        try:
            return await backend.ask(request)
        finally:
            await backend.close()

    return async_to_sync(go)()


@pytest.mark.parametrize(("key", "suffix"), PROTOCOLS)
def test_request_carries_the_images_temperature_zero_seed_and_schema(key, suffix):
    with FakeVlm() as server:
        answer = ask(key, server.url + suffix)
    assert '"tactic": "kiting"' in answer.text and answer.tokens_in > 0 and answer.tokens_out == 40
    [seen] = server.seen
    assert seen.protocol == key
    assert seen.images == 3
    assert seen.temperature == 0.0
    body = seen.body
    if key == "gemini":
        assert body["generationConfig"]["seed"] == 7
        assert body["generationConfig"]["responseMimeType"] == "application/json"
        assert body["generationConfig"]["responseJsonSchema"] == REQUEST.schema
    elif key == "ollama":
        assert body["options"]["seed"] == 7 and body["format"] == REQUEST.schema and body["model"] == "test-model"
    else:
        assert body["seed"] == 7 and body["response_format"]["json_schema"]["schema"] == REQUEST.schema


@pytest.mark.parametrize(("key", "suffix"), PROTOCOLS)
def test_a_server_error_is_one_attempt_and_retryable(key, suffix):
    with FakeVlm(reply=lambda n, seen: Reply(status=503)) as server:
        with pytest.raises(BackendError) as caught:
            ask(key, server.url + suffix)
    assert len(server.seen) == 1, "the client's own retries must be off"
    assert caught.value.retryable and caught.value.status == 503


def test_retry_delays_come_from_the_server():
    gemini_429 = Reply(status=429, error_body={"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED",
                                                         "details": [{"@type": "type.googleapis.com/google.rpc.RetryInfo",
                                                                      "retryDelay": "7s"}]}})
    with FakeVlm(reply=lambda n, seen: gemini_429) as server, pytest.raises(BackendError) as caught:
        ask("gemini", server.url)
    assert caught.value.retry_after == 7.0 and caught.value.status == 429
    with FakeVlm(reply=lambda n, seen: Reply(status=429, headers={"Retry-After": "3"})) as server:
        with pytest.raises(BackendError) as caught:
            ask("openai", server.url + "/v1")
    assert caught.value.retry_after == 3.0


@pytest.mark.parametrize(("key", "suffix"), PROTOCOLS)
def test_a_refused_connection_is_retryable(key, suffix):
    with FakeVlm() as server:
        url = server.url
    with pytest.raises(BackendError) as caught:
        ask(key, url + suffix)
    assert caught.value.retryable


def test_a_bad_key_is_not_retryable():
    with FakeVlm(reply=lambda n, seen: Reply(status=401)) as server, pytest.raises(BackendError) as caught:
        ask("openai", server.url + "/v1")
    assert not caught.value.retryable and caught.value.status == 401


def test_an_unknown_backend_is_named():
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="no VLM backend 'claude'; registered: \\['gemini', 'ollama', 'openai'\\]"):
        backend_create(BackendConfig(type_key="claude", model="x"))


@pytest.mark.parametrize(("key", "suffix"), PROTOCOLS)
def test_listing_models_fails_as_asking_does(key, suffix):
    """One translation of the client's errors per backend serves both calls."""
    with FakeVlm() as server:
        url = server.url
    backend = backend_create(BackendConfig(type_key=key, model="test-model", base_url=url + suffix, api_key="k"))

    async def go():  # type: ignore[no-untyped-def]
        try:
            return await backend.models()
        finally:
            await backend.close()

    with pytest.raises(BackendError) as caught:
        async_to_sync(go)()
    assert caught.value.retryable and str(caught.value).startswith(f"{key}: ")
