"""A vlm job's accounting on a fixture job: per model and per job, estimated tokens, percentiles, cost, the card."""
from __future__ import annotations

import pytest

from detection.models import Job
from labeling.vlm_accounting import percentile, vlm_accounting, vlm_job_accounting
from labeling.vlm_models import WindowLabel
from tests.conftest import PASSWORD
from tests.factories import JobFactory, RecordingFactory

pytestmark = pytest.mark.django_db
OLLAMA, OPENAI = "ollama:minicpm-v", "openai:gpt-4o-mini"


def row(job, index, backend, *, status="labelled", source="vlm", cached=False,  # type: ignore[no-untyped-def]
        requests=1, tokens=(0, 0), latency=0.0, raw="{}") -> WindowLabel:
    return WindowLabel.objects.create(
        recording=job.recording, job=job, video_path="/v.mkv", prompt_version="p", spec="5x2/2", window_index=index,
        start=2.0 * index, end=2.0 * index + 2, status=status, source=source, backend=backend, cached=cached,
        requests=requests, tokens_in=tokens[0], tokens_out=tokens[1], latency_ms=latency, raw_answer=raw,
    )


@pytest.fixture
def job(settings):  # type: ignore[no-untyped-def]
    settings.VODSCOPE_VLM_PRICES = {"ollama": (0.1, 0.4)}
    job = JobFactory(kind=Job.Kind.VLM, status=Job.Status.RUNNING, recording=RecordingFactory())
    row(job, 0, OLLAMA, tokens=(600, 40), latency=1000)
    row(job, 1, OLLAMA, requests=2, tokens=(1300, 90), latency=2000)  # answer and repair
    row(job, 2, OLLAMA, source="cache", cached=True, requests=0, latency=5)
    row(job, 3, OLLAMA, status="failed", source="none", requests=2, tokens=(1200, 80), latency=3000)
    row(job, 4, OPENAI, tokens=(0, 0), latency=1200, raw="x" * 40)  # the server reported no usage
    row(job, 5, OPENAI, tokens=(400, 20), latency=1500)
    row(job, 6, "", source="ocr", requests=1, latency=4000, raw="")  # every backend down: OCR's values
    return job


def test_per_model_figures_with_estimated_tokens_where_the_server_reported_none(job):
    accounts = vlm_accounting(job=job)
    assert sorted(accounts) == ["(no model answered)", OLLAMA, OPENAI]
    ollama = accounts[OLLAMA]
    assert (ollama["windows"], ollama["labelled"], ollama["failed"], ollama["cache_hits"]) == (4, 3, 1, 1)
    assert (ollama["requests"], ollama["tokens_in"], ollama["tokens_out"]) == (5, 3100, 210)
    assert not ollama["tokens_estimated"]
    # the cache hit made no request, so it is not a latency
    assert (ollama["latency_p50_ms"], ollama["latency_p95_ms"], ollama["mean_latency_ms"]) == (2000, 3000, 2000)
    assert ollama["cost_usd"] == round((3100 * 0.1 + 210 * 0.4) / 1e6, 6)
    openai = accounts[OPENAI]
    # window 4: input as the model's reported 400 a request, output 40 characters / 4
    assert (openai["tokens_in"], openai["tokens_out"]) == (800, 30)
    assert openai["tokens_estimated"] and openai["unreported_windows"] == 1
    assert openai["cost_usd"] is None, "no price configured for openai"
    assert accounts["(no model answered)"]["ocr_fallback"] == 1


def test_the_job_total_and_its_percentiles_over_every_window_that_made_a_request(job):
    accounting = vlm_job_accounting(job=job)
    total = accounting.total
    assert (total.windows, total.requests, total.tokens_in, total.tokens_out) == (7, 8, 3900, 240)
    assert (total.failed, total.ocr_fallback, total.cache_hits, total.tokens_estimated) == (1, 1, 1, True)
    # 1000, 1200, 1500, 2000, 3000, 4000 ms: nearest rank
    assert (total.latency_p50_ms, total.latency_p95_ms) == (1500, 4000)
    assert total.cost_usd == round((3100 * 0.1 + 210 * 0.4) / 1e6, 6)
    assert accounting.failed_requests is None and not accounting.frozen


def test_a_model_without_reports_in_this_job_is_estimated_from_its_other_jobs(job):
    other = JobFactory(kind=Job.Kind.VLM, recording=job.recording)
    row(other, 9, "openai:other", tokens=(700, 10), requests=2)
    row(job, 7, "openai:other", tokens=(0, 0), raw="y" * 9)
    assert vlm_accounting(job=job)["openai:other"]["tokens_in"] == 350
    assert vlm_accounting(job=job)["openai:other"]["tokens_out"] == 3


def test_a_finished_job_keeps_its_figures_when_a_rerun_takes_its_rows(job):
    job.status = Job.Status.SUCCEEDED
    job.result = {"accounting": vlm_accounting(job=job), "failed_requests": 3}
    job.save()
    rerun = JobFactory(kind=Job.Kind.VLM, recording=job.recording)
    WindowLabel.objects.filter(job=job).update(job=rerun)
    accounting = vlm_job_accounting(job=job)
    assert accounting.frozen and accounting.failed_requests == 3
    assert (accounting.total.windows, accounting.total.tokens_in) == (7, 3900)
    assert accounting.total.latency_p50_ms is None, "percentiles of several models cannot be combined"


def test_percentile_is_a_value_some_window_had():
    assert percentile([], 0.5) is None
    assert percentile([3.0, 1.0, 2.0], 0.5) == 2.0 and percentile([3.0, 1.0, 2.0], 0.95) == 3.0


def test_the_job_card_shows_the_accounting_and_says_what_is_estimated(client, job):
    job.recording.owner.set_password(PASSWORD)
    job.recording.owner.save()
    client.login(username=job.recording.owner.username, password=PASSWORD)
    content = client.get(f"/jobs/{job.pk}/progress/").content.decode()
    assert "<b>7</b> windows" in content and "<b>8</b> requests" in content
    assert "tokens <b>3,900</b> in / <b>240</b> out <em class=\"acc-estimated\">(estimated)</em>" in content
    assert "latency p50 <b>1.50 s</b> · p95 <b>4.00 s</b>" in content
    assert "≈ $0.0004" in content and "(estimated)" in content
    assert f'<tr data-model="{OPENAI}"><td>{OPENAI}</td><td>2</td><td>2</td>' in content
    assert "the server did not report the usage of 1 window: estimated" in content
