"""Session reasoning against a local server speaking the backends' protocols (tests/labeling/fake_vlm.py)."""
from __future__ import annotations

import json

import pytest
from asgiref.sync import async_to_sync
from django.core.management import CommandError, call_command

from detection.models import Job
from labeling.backend_status_models import VlmBackendStatus
from labeling.backends.base import BackendConfig, backend_create, text_request
from labeling.reasoning.chunks import tokens_estimate
from labeling.summary_models import RaidSummary, SessionSummary
from labeling.vlm_models import WindowLabel
from project.jobs.registry import job_kind_for
from project.jobs.runner import job_run
from tests.factories import DetectedEventFactory, JobFactory, RecordingFactory
from tests.labeling.fake_vlm import FakeVlm, Reply, Seen

pytestmark = pytest.mark.django_db

SUMMARY = {"title": "Customs, two scavs down", "summary": "The player looted, kited a scav and got out.",
           "highlights": ["0:42 headshot on a scav"]}
PROTOCOLS = [("gemini", ""), ("ollama", ""), ("openai", "/v1")]


def good(n: int, seen: Seen) -> Reply:
    return Reply(text=json.dumps(SUMMARY))


def session(recording, raids: int, *, kills: int = 2, seconds: float = 600.0) -> None:  # type: ignore[no-untyped-def]
    """`raids` raids of `seconds`, each with `kills` kills and labelled windows (health falling)."""
    for i in range(raids):
        start = 30.0 + i * (seconds + 60.0)
        DetectedEventFactory(recording=recording, event_type="raid_start", video_offset_seconds=start,
                             data={"map_name": "customs", "character_type": "pmc", "game_mode": "pve"})
        for k in range(kills):
            DetectedEventFactory(recording=recording, event_type="kill", video_offset_seconds=start + 20 + 5 * k,
                                 data={"enemy_type": "scav", "weapon": "AKM", "headshot": k % 2 == 0})
        DetectedEventFactory(recording=recording, event_type="raid_end", video_offset_seconds=start + seconds,
                             data={"outcome": "survived", "extract_location": "crossroads"})
        for w, tactic in enumerate(("looting", "looting", "kiting")):
            WindowLabel.objects.create(
                recording=recording, video_path=str(recording.source_path), prompt_version="tactical_v1",
                spec="5x2/2", window_index=i * 10 + w, start=start + 2 * w, end=start + 2 * w + 2,
                status=WindowLabel.Status.LABELLED, source=WindowLabel.Source.VLM,
                label={"health": 90 - 10 * w, "shield": 50, "tactic": tactic, "intent_matches": "true",
                       "rationale": "", "confidence": 0.9})


def summarize(recording, url: str, *extra: str) -> None:  # type: ignore[no-untyped-def]
    call_command("summarize", "--recording", str(recording.pk), "--backend", "openai", "--base-url", url + "/v1",
                 "--model", "llama3", *extra)


@pytest.mark.once
@pytest.mark.parametrize(("key", "suffix"), PROTOCOLS)
def test_a_text_request_carries_temperature_zero_the_seed_and_no_images(key, suffix):
    request = text_request(system="you summarise", prompt="what happened?", schema={"type": "object"},
                           schema_name="raid_summary")
    with FakeVlm(reply=good) as server:
        backend = backend_create(BackendConfig(type_key=key, model="llama3", base_url=server.url + suffix,
                                               api_key="k", seed=7))

        async def go():  # type: ignore[no-untyped-def]
            try:
                return await backend.ask(request)
            finally:
                await backend.close()

        answer = async_to_sync(go)()
    assert json.loads(answer.text) == SUMMARY
    [seen] = server.seen
    assert seen.images == 0 and seen.temperature == 0.0
    if key == "ollama":
        assert "images" not in seen.body["messages"][-1] and seen.body["options"]["seed"] == 7
    elif key == "openai":
        assert seen.body["messages"][-1]["content"] == "what happened?" and seen.body["seed"] == 7
        assert seen.body["response_format"]["json_schema"]["name"] == "raid_summary"
    else:
        assert seen.body["generationConfig"]["seed"] == 7


def test_each_raid_and_the_session_are_summarised_and_a_rerun_asks_nothing(capsys):
    recording = RecordingFactory()
    session(recording, 2)
    with FakeVlm(reply=good) as server:
        summarize(recording, server.url)
        assert len(server.seen) == 3  # two raids, then the session
        first = server.seen[0].body
        assert first["temperature"] == 0 and first["seed"] == 0 and "image_url" not in json.dumps(first)
        facts = json.loads(first["messages"][-1]["content"].split("\n\n")[1])
        assert facts["map_name"] == "customs" and facts["outcome"] == "survived" and len(facts["kills"]) == 2
        assert facts["tactics"] == {"looting": 2, "kiting": 1} and facts["health"]["lowest"] == 70
        summarize(recording, server.url)
        assert len(server.seen) == 3, "a rerun is answered from the cache"
    out = capsys.readouterr().out
    assert "raid 2: Customs, two scavs down (cached)" in out and "0 requests, 3 answers from the cache" in out
    raids = RaidSummary.objects.filter(recording=recording).order_by("raid_index")
    assert [(r.raid_index, r.status, r.summary) for r in raids] == [(1, "ok", SUMMARY), (2, "ok", SUMMARY)]
    whole = SessionSummary.objects.get(recording=recording)
    assert whole.status == "ok" and whole.summary == SUMMARY and whole.raids == 2 and whole.levels == [1]
    assert whole.model == "openai:llama3" and whole.prompt_version == "reasoning_v1" and whole.cached


def test_a_long_session_is_chunked_and_every_request_fits_the_budget():
    recording = RecordingFactory(duration_seconds=3 * 3600.0)
    session(recording, 16, kills=12, seconds=600.0)  # three hours of raids
    long_summary = {**SUMMARY, "summary": "word " * 150}  # ~750 bytes each: a few per request

    with FakeVlm(reply=lambda n, seen: Reply(text=json.dumps(long_summary))) as server:
        summarize(recording, server.url, "--context-tokens", "2048")
    whole = SessionSummary.objects.get(recording=recording)
    assert whole.status == "ok" and whole.raids == 16
    assert len(whole.levels) >= 2 and whole.levels[-1] == 1, whole.levels
    assert len(server.seen) == 16 + sum(whole.levels)
    for seen in server.seen:  # each request: system + prompt under the budget, answer room kept (1024)
        messages = seen.body["messages"]
        assert tokens_estimate(messages[0]["content"]) + tokens_estimate(messages[-1]["content"]) <= 2048 - 1024
        assert seen.body["max_tokens"] == 1024


def test_a_malformed_answer_gets_one_repair_then_the_failure_is_recorded():
    recording = RecordingFactory()
    session(recording, 2)

    def bad_raids(n: int, seen: Seen) -> Reply:
        asked = seen.body["messages"][-1]["content"]
        return Reply(text=json.dumps(SUMMARY)) if "consecutive parts" in asked else Reply(text='{"title": "Cus')

    with FakeVlm(reply=bad_raids) as server:
        summarize(recording, server.url)
    assert len(server.seen) == 2 * 2 + 1  # each raid: the answer and one repair; then the session
    repairs = [seen for seen in server.seen if "could not be used: not JSON" in seen.body["messages"][-1]["content"]]
    assert len(repairs) == 2
    raid = RaidSummary.objects.get(recording=recording, raid_index=1)
    assert raid.status == "failed" and raid.summary is None and '{"title": "Cus' in raid.raw_answer
    assert "invalid answer after one repair" in raid.error
    whole = SessionSummary.objects.get(recording=recording)
    assert whole.status == "ok" and [f["part"] for f in whole.failures] == ["raid 1", "raid 2"]
    session_prompt = server.seen[-1].body["messages"][-1]["content"]
    assert "Raid 1 (not summarised)" in session_prompt and "customs" in session_prompt


def test_the_summarize_job_runs_and_a_backend_down_fails_no_job():
    recording = RecordingFactory()
    session(recording, 1)
    with FakeVlm(reply=good) as server:
        job = JobFactory(kind=Job.Kind.SUMMARIZE, recording=recording, status=Job.Status.QUEUED,
                         params={"backend": "ollama", "model": "llama3", "base_url": server.url})
        job = job_run(job_id=job.pk, handler=job_kind_for(Job.Kind.SUMMARIZE).handler)
    assert job is not None and job.status == Job.Status.SUCCEEDED, job.error if job else ""
    assert job.result["raids"] == 1 and job.result["session"] == "ok" and job.result["model"] == "ollama:llama3"
    assert SessionSummary.objects.get(recording=recording).job == job
    breaker = VlmBackendStatus.objects.get(backend="ollama:llama3")  # the guard's breaker, for the admin
    assert (breaker.breaker_state, breaker.breaker_failures, breaker.breaker_job) == ("closed", 0, job)
    with FakeVlm(reply=lambda n, seen: Reply(status=400)) as server:
        job = JobFactory(kind=Job.Kind.SUMMARIZE, recording=recording, status=Job.Status.QUEUED,
                         params={"backend": "ollama", "model": "other", "base_url": server.url})
        job = job_run(job_id=job.pk, handler=job_kind_for(Job.Kind.SUMMARIZE).handler)
    assert job is not None and job.status == Job.Status.SUCCEEDED
    assert job.result["raids_failed"] == 1 and job.result["session"] == "failed" and "400" in job.result["session_error"]
    assert VlmBackendStatus.objects.get(backend="ollama:other").breaker_failures == job.result["failed_requests"] > 0


def test_bad_input_is_a_clear_message():
    recording = RecordingFactory()
    with pytest.raises(CommandError, match="no raids found"):
        summarize(recording, "http://127.0.0.1:9")
    with pytest.raises(CommandError, match="no recording with id 999999"):
        call_command("summarize", "--recording", "999999", "--backend", "ollama")
    session(recording, 1)
    with pytest.raises(CommandError, match="no prompt 'v9' for profile 'demo'"):
        summarize(recording, "http://127.0.0.1:9", "--prompt-version", "v9")
    with pytest.raises(CommandError, match="must leave at least 1024 tokens of input"):
        summarize(recording, "http://127.0.0.1:9", "--context-tokens", "1500")
    job = JobFactory(kind=Job.Kind.SUMMARIZE, recording=recording, status=Job.Status.QUEUED, params={"speed": 1})
    job = job_run(job_id=job.pk, handler=job_kind_for(Job.Kind.SUMMARIZE).handler)
    assert job is not None and job.status == Job.Status.FAILED and "unknown summarize job parameters" in job.error
