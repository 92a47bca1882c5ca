"""vlm_label, the vlm job and vlm_check against a local server speaking the OpenAI/Ollama protocols."""
from __future__ import annotations

import json

import cv2
import numpy as np
import pytest
from django.core.management import CommandError, call_command

from detection.models import Job
from detection.pipeline.labels import label_schema_load
from detection.pipeline.profile import load_profile
from detection.pipeline.text import RapidTextReader
from detection.pipeline.types import Frame
from detection.pipeline.windows import PlannedWindow, Window
from labeling.vlm_models import VlmCacheEntry, WindowLabel
from labeling.windows import window_prepare
from project.jobs.registry import job_kind_for
from project.jobs.runner import job_run
from tests.conftest import render_test_video
from tests.factories import DetectedEventFactory, JobFactory, RecordingFactory
from tests.labeling.fake_vlm import GOOD_LABEL, FakeVlm, Reply

pytestmark = pytest.mark.django_db


def label(video, url, output, *extra):  # type: ignore[no-untyped-def]
    call_command("vlm_label", "--video", str(video), "--backend", "openai", "--base-url", url + "/v1",
                 "--model", "test-model", "--no-ocr", "--output", str(output), *extra)
    return [json.loads(line) for line in output.read_text().splitlines()]


def test_vlm_label_writes_one_line_per_window_and_a_rerun_asks_nothing(tmp_path):
    video = render_test_video(tmp_path / "v.mkv", seconds=6.0)
    with FakeVlm() as server:
        lines = label(video, server.url, tmp_path / "a.jsonl")
        assert len(server.seen) == 3 and all(seen.images == 6 for seen in server.seen)  # 5 frames + the HUD crop
        again = label(video, server.url, tmp_path / "b.jsonl")
        assert len(server.seen) == 3, "a rerun is answered from the cache"
    lines.sort(key=lambda line: line["start"])
    assert [(line["start"], line["end"]) for line in lines] == [(0.0, 2.0), (2.0, 4.0), (4.0, 6.0)]
    assert lines[1]["frames"] == [2.0, 2.4, 2.8, 3.2, 3.6]
    assert lines[0]["status"] == "labelled" and lines[0]["label"] == GOOD_LABEL and lines[0]["cached"] is False
    assert lines[0]["ocr"] == {"health": None, "shield": None}
    assert all(line["cached"] for line in again)
    rows = WindowLabel.objects.order_by("start")
    assert rows.count() == 3, "a rerun updates its rows, never duplicates them"
    assert rows[0].label == GOOD_LABEL and rows[0].tokens_in == 0 and rows[0].cached  # the rerun's
    assert VlmCacheEntry.objects.count() == 3


def test_a_window_whose_answer_stays_invalid_is_failed_with_the_raw_answer(tmp_path):
    video = render_test_video(tmp_path / "v.mkv", seconds=2.0)
    with FakeVlm(reply=lambda n, seen: Reply(text='{"health": 7')) as server:
        [line] = label(video, server.url, tmp_path / "a.jsonl")
        assert len(server.seen) == 2  # the answer and one repair
    assert line["status"] == "failed" and line["label"] is None and '{"health": 7' in line["raw"]
    assert WindowLabel.objects.get().status == WindowLabel.Status.FAILED


def test_bad_options_are_a_command_error(tmp_path):
    video = render_test_video(tmp_path / "v.mkv", seconds=1.0)
    with pytest.raises(CommandError, match="frames must be at least 1"):
        label(video, "http://127.0.0.1:9", tmp_path / "a.jsonl", "--window-frames", "0")
    with pytest.raises(CommandError, match="unknown game states \\['in_raid'\\]; the profile's: \\["):
        label(video, "http://127.0.0.1:9", tmp_path / "a.jsonl", "--states", "in_raid")
    with pytest.raises(CommandError, match="none.mkv: no such video file"):
        label(tmp_path / "none.mkv", "http://127.0.0.1:9", tmp_path / "a.jsonl")
    with pytest.raises(CommandError, match="no recording with id 999999"):
        call_command("vlm_label", "--recording", "999999", "--backend", "ollama", "--output", str(tmp_path / "x"))


def test_the_vlm_job_labels_only_raid_windows_with_what_detection_knows(tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.VODSCOPE_VLM_PRICES = {"ollama": (0.1, 0.4)}
    video = render_test_video(tmp_path / "v.mkv", seconds=8.0)
    recording = RecordingFactory(source_path=str(video))
    for at, to_state in ((1.0, "deploying"), (2.0, "raid_active"), (6.5, "survived")):
        DetectedEventFactory(recording=recording, event_type="state_transition", video_offset_seconds=at,
                             data={"from_state": "", "to_state": to_state})
    DetectedEventFactory(recording=recording, event_type="kill", video_offset_seconds=3.0, data={})
    with FakeVlm(models=("minicpm-v",)) as server:
        job = JobFactory(kind=Job.Kind.VLM, recording=recording, status=Job.Status.QUEUED, params={
            "backends": [{"type": "ollama", "model": "minicpm-v", "base_url": server.url}]})
        job = job_run(job_id=job.pk, handler=job_kind_for(Job.Kind.VLM).handler)
    assert job is not None and job.status == Job.Status.SUCCEEDED, job.error if job else ""
    assert job.result["windows"] == 2 and job.result["skipped"] == 2 and job.result["labelled"] == 2
    assert [seen.protocol for seen in server.seen] == ["ollama", "ollama"]
    account = job.result["accounting"]["ollama:minicpm-v"]
    assert account["windows"] == 2 and account["requests"] == 2 and account["failed"] == 0
    assert (account["tokens_in"], account["tokens_out"]) == (1200, 80)
    assert account["cost_usd"] == round((1200 * 0.1 + 80 * 0.4) / 1e6, 6)  # the test's price
    prompt = server.seen[0].body["messages"][-1]["content"]
    assert '"state": "raid_active"' in prompt and '"recent_kills": 1' in prompt
    rows = WindowLabel.objects.filter(recording=recording, job=job).order_by("start")
    assert [(r.start, r.end) for r in rows] == [(2.0, 4.0), (4.0, 6.0)]
    output = tmp_path / "media" / "vlm" / f"job-{job.pk}.jsonl"
    assert job.result["output"] == str(output)
    assert sorted(json.loads(line)["start"] for line in output.read_text().splitlines()) == [2.0, 4.0]


def test_a_vlm_job_with_bad_params_fails_saying_why(tmp_path):
    recording = RecordingFactory(source_path=str(tmp_path / "none.mkv"))
    job = JobFactory(kind=Job.Kind.VLM, recording=recording, status=Job.Status.QUEUED, params={"stride": "x", "speed": 1})
    job = job_run(job_id=job.pk, handler=job_kind_for(Job.Kind.VLM).handler)
    assert job is not None and job.status == Job.Status.FAILED
    assert "unknown vlm job parameters ['speed']" in job.error


def test_vlm_check_says_exactly_what_is_wrong(capsys):
    with FakeVlm(models=("minicpm-v:latest",)) as server:
        call_command("vlm_check", "--backend", "ollama", "--base-url", server.url, "--model", "minicpm-v")
        assert "ollama:minicpm-v: OK" in capsys.readouterr().out
        with pytest.raises(CommandError, match="1 of 1 VLM backends unusable"):
            call_command("vlm_check", "--backend", "openai", "--base-url", server.url + "/v1", "--model", "gpt-x")
        assert "model 'gpt-x' not offered" in capsys.readouterr().out
    with FakeVlm(models=("m",), reply=lambda n, seen: Reply(text="sure! here it is")) as server:
        with pytest.raises(CommandError):
            call_command("vlm_check", "--backend", "openai", "--base-url", server.url + "/v1", "--model", "m")
        assert "answered outside the label schema (not JSON" in capsys.readouterr().out
    with pytest.raises(CommandError):
        call_command("vlm_check", "--backend", "ollama", "--base-url", "http://127.0.0.1:9", "--model", "m")
    assert "FAILED unreachable at http://127.0.0.1:9" in capsys.readouterr().out


def test_ocr_reads_the_hud_of_the_windows_last_frame():
    profile, schema = load_profile("demo"), label_schema_load("demo")
    image = np.full((720, 1280, 3), 40, dtype=np.uint8)
    cv2.putText(image, "HP 64%", (30, 680), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (255, 255, 255), 2)
    cv2.putText(image, "SHIELD 27%", (230, 680), cv2.FONT_HERSHEY_SIMPLEX, 1.2, (255, 255, 255), 2)
    blank = Frame(picture=np.full((720, 1280, 3), 40, dtype=np.uint8), number=0, video_time=0.0)
    last = Frame(picture=image, number=48, video_time=1.6)
    window = Window(planned=PlannedWindow(index=0, first=0, start=0.0, end=2.0), frames=(blank, last))
    prepared = window_prepare(window, profile=profile, schema=schema, reader=RapidTextReader(), context={})
    assert prepared.ocr == {"health": 64, "shield": 27}
    assert len(prepared.images) == 3 and all(image[:2] == b"\xff\xd8" for image in prepared.images)


def test_the_admin_queues_a_vlm_job_per_selected_recording(client, staff, settings):
    settings.VODSCOPE_VLM_BACKENDS = ["ollama"]
    recording = RecordingFactory()
    client.force_login(staff)
    response = client.post("/admin/detection/recording/", {"action": "vlm_label_selected_recordings",
                                                           "_selected_action": [recording.pk]}, follow=True)
    assert response.status_code == 200
    job = Job.objects.get(kind=Job.Kind.VLM, recording=recording)
    assert f"Queued vlm jobs [{job.pk}]" in response.content.decode()


def test_vlm_compare_reports_agreement_per_field(tmp_path, capsys):
    def run(path, labels):  # type: ignore[no-untyped-def]
        path.write_text("".join(json.dumps({"start": 2.0 * i, "end": 2.0 * i + 2, "status": status, "label": label})
                                + "\n" for i, (status, label) in enumerate(labels)))
        return path

    other = {**GOOD_LABEL, "tactic": "fleeing", "health": 90}
    a = run(tmp_path / "a.jsonl", [("labelled", GOOD_LABEL), ("labelled", GOOD_LABEL), ("failed", None)])
    b = run(tmp_path / "b.jsonl", [("labelled", GOOD_LABEL), ("labelled", other), ("labelled", GOOD_LABEL)])
    call_command("vlm_compare", str(a), str(b))
    out = capsys.readouterr().out
    assert "2 windows labelled in both (2 in the first, 3 in the second)" in out
    assert "tactic: 1/2 agree = 50%" in out
    assert "health: 1/2 agree (within 10) = 50%, mean gap 8.5" in out
    assert "shield: 2/2 agree (within 10) = 100%, mean gap 0.0" in out
    (tmp_path / "bad.jsonl").write_text('{"start": 0}\n')
    with pytest.raises(CommandError, match="bad.jsonl:1: not a vlm_label line"):
        call_command("vlm_compare", str(a), str(tmp_path / "bad.jsonl"))
