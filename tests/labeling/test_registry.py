"""Activating a model version switches what the next detect job runs; rolling back switches back."""
from __future__ import annotations

from pathlib import Path

import onnx
import pytest

from detection.models import Job, ModelVersion
from detection.pipeline.profile import load_profile
from detection.services.detect import detect_job_start
from detection.services.model_versions import ModelVersionError, model_version_register
from labeling.models import FrameAnnotation, ModelActivation
from labeling.registry import model_version_activate_recorded, model_version_rollback
from project.jobs.dispatch import run_job
from tests.detection.pipeline.synthetic import Script, build_model, write_video
from tests.factories import RecordingFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(scope="module")
def material(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("registry")
    paths = {"video": write_video(Script().add("stash_screen", 1), folder / "clip.mkv")}
    for name in ("v1", "v2"):
        path = build_model(folder / f"{name}.onnx")
        model = onnx.load(path)
        model.metadata_props.add(key="variant", value=name)  # same behaviour, other bytes: another version
        onnx.save(model, path)
        paths[name] = path
    return paths


def next_job_model(owner, recording, django_capture_on_commit_callbacks) -> str:  # type: ignore[no-untyped-def]
    with django_capture_on_commit_callbacks(execute=False):
        job = detect_job_start(recording=recording, user=owner)
    run_job(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    return str(job.result["metadata"]["model"]["name"])


def test_activation_switches_the_next_detect_job_and_rollback_switches_back(  # type: ignore[no-untyped-def]
    settings, owner, material, django_capture_on_commit_callbacks
) -> None:
    settings.VODSCOPE_MODELS_DIR = material["v1"].parent
    profile = load_profile("demo")
    v1 = model_version_register(path=material["v1"], profile=profile)
    v2 = model_version_register(path=material["v2"], profile=profile)
    assert v1.active and not ModelVersion.objects.get(pk=v2.pk).active
    recording = RecordingFactory(owner=owner, source_path=str(material["video"]), duration_seconds=1.0)
    assert next_job_model(owner, recording, django_capture_on_commit_callbacks) == v1.name

    model_version_activate_recorded(version=v2, user=owner)
    assert next_job_model(owner, recording, django_capture_on_commit_callbacks) == v2.name
    assert list(ModelVersion.objects.filter(active=True)) == [v2]

    assert model_version_rollback(profile="demo", user=owner) == v1
    assert next_job_model(owner, recording, django_capture_on_commit_callbacks) == v1.name
    activation = ModelActivation.objects.get()
    assert (activation.version, activation.previous, activation.rolled_back) == (v2, v1, True)
    with pytest.raises(ModelVersionError, match="no earlier"):
        model_version_rollback(profile="demo")


def test_activating_the_active_version_records_nothing(settings, material) -> None:  # type: ignore[no-untyped-def]
    settings.VODSCOPE_MODELS_DIR = material["v1"].parent
    v1 = model_version_register(path=material["v1"], profile=load_profile("demo"))
    model_version_activate_recorded(version=v1)
    assert not ModelActivation.objects.exists()


def test_a_detect_job_queues_its_rejections_as_candidates(settings, owner, material, tmp_path,  # type: ignore[no-untyped-def]
                                                          django_capture_on_commit_callbacks) -> None:
    settings.VODSCOPE_MODELS_DIR = material["v1"].parent
    settings.MEDIA_ROOT = tmp_path / "media"
    model_version_register(path=material["v1"], profile=load_profile("demo"))
    script = Script().add("stash_screen", 2).add("survived_screen", 2, lines=("SURVIVED",)).add("stash_screen", 1)
    recording = RecordingFactory(owner=owner, source_path=str(write_video(script, tmp_path / "odd.mkv")),
                                 duration_seconds=5.0)
    next_job_model(owner, recording, django_capture_on_commit_callbacks)
    candidate = FrameAnnotation.objects.get(recording=recording, rejected=True)
    assert candidate.status == "candidate" and candidate.label == "survived_screen"
    result = Job.objects.get(kind=Job.Kind.DETECT).result
    assert result["candidates"] >= 1 and result["candidate_images"] == result["candidates"]
    # The queue drops near-duplicates by these hashes: a candidate without one would be shown beside its twins.
    assert not FrameAnnotation.objects.filter(recording=recording, status="candidate", phash="").exists()
    candidate.refresh_from_db()
    assert (settings.MEDIA_ROOT / candidate.image).is_file()
