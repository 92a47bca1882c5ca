"""The analyst's prompt carries the input log's summary of the window, and only when the recording has a log."""
from __future__ import annotations

import dataclasses
from io import StringIO

import pytest
from django.core.management import call_command

from detection.pipeline.labels import label_schema_load, prompt_load
from detection.pipeline.profile import load_profile
from detection.pipeline.windows import WindowSpec, window_plan
from labeling.analyst import INPUTS_PROMPT_VERSION, Analyst, MemoryCache, prompt_version_for
from labeling.inputlog_services import input_log_attach, window_inputs_for
from labeling.vlm_models import WindowLabel
from labeling.windows import video_duration, windows_prepared
from tests.conftest import render_test_video
from tests.factories import RecordingFactory
from tests.labeling.fake_vlm import FakeVlm
from tests.labeling.test_analyst import FAST, Scripted, run, windows

SUMMARY = "cursor from (0.50, 0.50) to (0.70, 0.40), a path of 0.22 screen-lengths; clicks: 2 left; keys pressed in order: R."


@pytest.mark.pure
def test_the_prompt_has_the_summary_only_when_the_window_has_one():
    backend = Scripted()
    plain, with_log = windows(2)
    with_log = dataclasses.replace(with_log, inputs=SUMMARY)
    _, results = run([backend], [plain, with_log])
    assert all(r.status == "labelled" for r in results)
    prompts = {request.prompt.count("input log"): request.prompt for request in backend.calls}
    assert set(prompts) == {0, 1}
    assert SUMMARY in prompts[1] and "mouse" not in prompts[0]
    schema = label_schema_load("demo")
    prompt = prompt_load("demo", schema.default_prompt)
    def bare(window):  # type: ignore[no-untyped-def]
        return prompt.render(schema, frame_times=list(window.frame_times), seconds=2.0, context={})

    assert prompts[0] == bare(plain), "a window without a log is asked exactly what it was asked before input logs"
    assert prompts[1].startswith(bare(with_log))
    assert prompt_version_for("tactical_v1", inputs=True) == f"tactical_v1+{INPUTS_PROMPT_VERSION}"
    assert prompt_version_for("tactical_v1", inputs=False) == "tactical_v1"


@pytest.mark.pure
def test_the_summary_is_part_of_the_cache_key():
    schema = label_schema_load("demo")
    analyst = Analyst(backends=[Scripted()], schema=schema, prompt=prompt_load("demo", schema.default_prompt),
                      limits=FAST, cache=MemoryCache())
    window = windows(1)[0]
    keys = {analyst.cache_key(dataclasses.replace(window, inputs=s), analyst.backends[0]) for s in ("", SUMMARY, "x.")}
    assert len(keys) == 3


@pytest.mark.django_db
def test_windows_of_a_recording_with_a_log_carry_its_summary(library):
    video = render_test_video(library / "v.mkv", seconds=4.0)
    log = library / "v.csv"
    log.write_text("time,event,x,y,button,key\n0.1,move,0.2,0.2,,\n0.5,move,0.8,0.6,,\n1.0,down,,,left,\n"
                   "1.1,up,,,left,\n2.5,key_down,,,,E\n")
    recording = RecordingFactory(source_path=str(video))
    assert window_inputs_for(recording) is None and window_inputs_for(None) is None
    input_log_attach(recording=recording, path=log)
    inputs_for = window_inputs_for(recording)
    assert inputs_for is not None
    spec = WindowSpec(frames=2, seconds=2.0, stride=2.0)
    plan = window_plan(duration=video_duration(video), spec=spec, spans=None)
    prepared = list(windows_prepared(video, plan, spec=spec, profile=load_profile("demo"), schema=label_schema_load("demo"),
                                     reader=None, context_for=lambda start, end: {}, inputs_for=inputs_for))
    assert [w.start for w in prepared] == [0.0, 2.0]
    assert "cursor from (0.20, 0.20) to (0.80, 0.60)" in prepared[0].inputs and "1 left" in prepared[0].inputs
    assert "cursor still at (0.80, 0.60)" in prepared[1].inputs and "keys pressed in order: E" in prepared[1].inputs


@pytest.mark.django_db
def test_vlm_label_sends_the_summary_and_stores_the_labels_apart_only_with_a_log(library, tmp_path):
    video = render_test_video(library / "v.mkv", seconds=4.0)
    recording = RecordingFactory(source_path=str(video))

    def label() -> list[str]:
        with FakeVlm() as server:
            call_command("vlm_label", "--recording", str(recording.pk), "--backend", "openai", "--base-url",
                         server.url + "/v1", "--model", "m", "--no-ocr", "--output", str(tmp_path / "out.jsonl"),
                         stdout=StringIO(), stderr=StringIO())
        return [seen.body["messages"][-1]["content"] for seen in server.seen]

    def text(content: object) -> str:  # OpenAI's content: the prompt's text part beside the images
        return content if isinstance(content, str) else " ".join(p.get("text", "") for p in content)

    assert all("input log" not in text(c) for c in label())
    log = library / "v.csv"
    log.write_text("time,event,x,y,button,key\n0.1,move,0.2,0.2,,\n2.5,key_down,,,,E\n")
    input_log_attach(recording=recording, path=log)
    prompts = [text(c) for c in label()]
    assert len(prompts) == 2 and all("from an input log aligned to the video" in p for p in prompts)
    versions = sorted(WindowLabel.objects.filter(recording=recording).values_list("prompt_version", flat=True))
    assert versions == ["tactical_v1", "tactical_v1", "tactical_v1+inputs1", "tactical_v1+inputs1"]
