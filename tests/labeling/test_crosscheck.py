"""The detector cross-check against a local server speaking the backends' protocols (tests/labeling/fake_vlm.py)."""
from __future__ import annotations

import json

import pytest
from django.core.management import CommandError, call_command
from django.http import QueryDict

from detection.models import DetectedEvent
from labeling.analyst import Limits, MemoryCache
from labeling.crosscheck import crosscheck_after_labelling
from labeling.datasets.annotations import annotation_candidates_collect
from labeling.datasets.queue_selector import queue_page
from labeling.models import FrameAnnotation
from labeling.services.vlm_label import backend_config
from review.selectors import ReviewFilters, review_events
from tests.conftest import render_test_video
from tests.factories import DetectedEventFactory, RecordingFactory
from tests.labeling.fake_vlm import FakeVlm, Reply, Seen

pytestmark = pytest.mark.django_db


def answer(visible: str) -> Reply:
    return Reply(text=json.dumps({"visible": visible, "rationale": f"the frames say {visible}"}))


def asked(seen: Seen) -> str:
    """The text of an OpenAI request's user message (its other parts are the images)."""
    return " ".join(part["text"] for part in seen.body["messages"][-1]["content"] if part["type"] == "text")


def disputes_the_second_kill(n: int, seen: Seen) -> Reply:
    return answer("no" if "video second 2.0" in asked(seen) else "yes")


def events(recording):  # type: ignore[no-untyped-def]
    first = DetectedEventFactory(recording=recording, event_type="kill", video_offset_seconds=0.5,
                                 data={"enemy_type": "scav", "weapon": "AKM", "headshot": False})
    second = DetectedEventFactory(recording=recording, event_type="kill", video_offset_seconds=2.0,
                                  data={"enemy_type": "pmc", "weapon": "M4A1", "headshot": True},
                                  evidence={"class": "kill_notification", "box": [0.6, 0.05, 0.98, 0.14],
                                            "confidence": 0.9, "confirmed_at_frame": 60})
    end = DetectedEventFactory(recording=recording, event_type="raid_end", video_offset_seconds=3.0,
                               data={"outcome": "killed", "killed_by": "pmc"})
    transition = DetectedEventFactory(recording=recording, event_type="state_transition", video_offset_seconds=1.0,
                                      data={"from_state": "deploying", "to_state": "raid_active"})
    return first, second, end, transition


def crosscheck(recording, url: str) -> None:  # type: ignore[no-untyped-def]
    call_command("vlm_crosscheck", "--recording", str(recording.pk), "--backend", "openai", "--base-url", url + "/v1",
                 "--model", "test-model")


def test_a_disputed_event_is_recorded_and_ranked_first_and_a_rerun_asks_nothing(tmp_path, capsys):
    recording = RecordingFactory(source_path=str(render_test_video(tmp_path / "v.mkv", seconds=5.0)))
    first, second, end, transition = events(recording)
    annotation_candidates_collect(recording=recording)  # the detect job's end: the second kill's frame is a candidate
    with FakeVlm(reply=disputes_the_second_kill) as server:
        crosscheck(recording, server.url)
        assert len(server.seen) == 3, "kills and the raid end; a state transition claims nothing to look at"
        assert all(seen.images == 3 and seen.temperature == 0.0 for seen in server.seen)
        claims = {asked(seen).split("show ")[1].split(" (")[0] for seen in server.seen}
        assert claims == {"a kill notification", "the KILLED IN ACTION death screen"}
        crosscheck(recording, server.url)
        assert len(server.seen) == 3, "a rerun is answered from the cache"
    assert "disputed: kill at 2.0 s: the frames say no" in capsys.readouterr().out
    second.refresh_from_db()
    check = second.evidence["vlm_check"]
    assert check["agrees"] is False and check["model"] == "openai:test-model" and check["prompt_version"] == "crosscheck_v1"
    first.refresh_from_db()
    assert first.evidence["vlm_check"]["agrees"] is True and "vlm_check" not in DetectedEvent.objects.get(
        pk=transition.pk).evidence

    by_time = review_events(recording=recording, filters=ReviewFilters())
    assert [row.pk for row in by_time] == [first.pk, transition.pk, second.pk, end.pk]
    ranked = review_events(recording=recording, filters=ReviewFilters.from_query(QueryDict("order=attention")))
    assert [row.pk for row in ranked] == [second.pk, first.pk, transition.pk, end.pk]
    assert [row.disputed for row in ranked] == [True, False, False, False]
    from review.fragments import event_rows_html

    html = event_rows_html(ranked, threshold=0.5, events_url="/e/")
    assert html.count('class="badge disputed"') == 1 and html.index("badge disputed") < html.index(f'id="ev-{first.pk}"')

    # The active-learning queue shows the disputed kill's frame as a disagreement, saying whose.
    (pick,) = queue_page(recording_ids=[recording.pk]).picks
    assert pick.candidate.frame_number == 60
    assert "disagreement: the VLM cross-check disagreed (openai:test-model): the frames say no" in pick.reasons
    annotation_candidates_collect(recording=recording)  # the next detect job's collect keeps it
    assert FrameAnnotation.objects.get(frame_number=60).disagreement.startswith("the VLM cross-check disagreed")


def test_a_malformed_answer_is_repaired_once_then_recorded_as_failed_without_a_crash(tmp_path):
    recording = RecordingFactory(source_path=str(render_test_video(tmp_path / "v.mkv", seconds=2.0)))
    kill = DetectedEventFactory(recording=recording, event_type="kill", video_offset_seconds=0.5, data={})
    with FakeVlm(reply=lambda n, seen: Reply(text='{"visible": "maybe"')) as server:
        result = crosscheck_after_labelling(recording=recording, backend=backend_config(
            "ollama", model="test-model", base_url=server.url), limits=Limits(), cache=MemoryCache())
        assert len(server.seen) == 2  # the answer and one repair
    assert result["failed"] == 1 and result["disputed"] == 0
    kill.refresh_from_db()
    check = kill.evidence["vlm_check"]
    assert check["agrees"] is None and "invalid answer after one repair" in check["error"]
    assert '{"visible": "maybe"' in check["raw"]
    [row] = review_events(recording=recording, filters=ReviewFilters(order="attention"))
    assert not row.disputed


def test_no_video_and_no_thumbnail_is_skipped_and_bad_options_are_named(tmp_path):
    recording = RecordingFactory(source_path=str(tmp_path / "gone.mkv"))
    DetectedEventFactory(recording=recording, event_type="kill", video_offset_seconds=0.5, data={})
    with FakeVlm(reply=lambda n, seen: answer("yes")) as server:
        result = crosscheck_after_labelling(recording=recording, backend=backend_config(
            "openai", model="test-model", base_url=server.url + "/v1"), limits=Limits(), cache=MemoryCache())
    assert result["skipped"] == 1 and not server.seen
    with pytest.raises(CommandError, match="no prompt 'v9'"):
        call_command("vlm_crosscheck", "--recording", str(recording.pk), "--backend", "ollama", "--prompt-version", "v9")
    with pytest.raises(CommandError, match="frames 0: between 1 and 8"):
        call_command("vlm_crosscheck", "--recording", str(recording.pk), "--backend", "ollama", "--frames", "0")


def test_the_vlm_job_cross_checks_when_asked(tmp_path, settings):
    from detection.models import Job
    from project.jobs.registry import job_kind_for
    from project.jobs.runner import job_run
    from tests.factories import JobFactory

    settings.MEDIA_ROOT = tmp_path / "media"
    recording = RecordingFactory(source_path=str(render_test_video(tmp_path / "v.mkv", seconds=4.0)))
    kill = DetectedEventFactory(recording=recording, event_type="kill", video_offset_seconds=1.0, data={})

    def reply(n: int, seen: Seen) -> Reply:  # window labels for the windows, a check for the event
        return answer("no") if "kill notification" in json.dumps(seen.body) else Reply()

    with FakeVlm(reply=reply) as server:
        job = JobFactory(kind=Job.Kind.VLM, recording=recording, status=Job.Status.QUEUED, params={
            "crosscheck": True, "backends": [{"type": "ollama", "model": "test-model", "base_url": server.url}]})
        job = job_run(job_id=job.pk, handler=job_kind_for(Job.Kind.VLM).handler)
    assert job is not None and job.status == Job.Status.SUCCEEDED, job.error if job else ""
    assert job.result["crosscheck"]["disputed"] == 1 and job.result["labelled"] == 2
    kill.refresh_from_db()
    assert kill.evidence["vlm_check"]["agrees"] is False
