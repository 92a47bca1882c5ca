"""The train job around its worker: parameters, the dataset it writes, the parity check that refuses an ONNX
file that does not find what the weights found, cancel between epochs, the chart, the Models page.

The worker here is tests/labeling/fake_train_worker.py (its protocol without torch); the real worker, in the
training venv, is tested in test_training_real.py.
"""
from __future__ import annotations

import json
import sys
from dataclasses import replace
from pathlib import Path

import cv2
import pytest
from django.contrib import messages
from django.core.management import CommandError, call_command

from detection.models import Job, ModelVersion, Recording
from detection.pipeline.detector import DetectorConfig, OnnxDetector
from detection.pipeline.types import Box, Detection
from labeling.admin import train_on_selected_recordings
from labeling.datasets.items import DatasetItem, LabelledBox
from labeling.training.evaluation import Scored, average_precision, detector_metrics
from labeling.training.job import run_folder, train_job_handle, train_job_start
from labeling.training.params import HELDOUT_SEED, TrainError, train_params_clean
from labeling.training.parity import parity_check, parity_floor, parity_sure
from project.jobs.dispatch import run_job
from project.jobs.runner import JobProgress, job_run
from tests.detection.pipeline.synthetic import PROFILE, Shot, build_model, draw
from tests.labeling.training_data import labelled_recordings, rendered_frames  # noqa: F401  # fixtures

FAKE_WORKER = Path(__file__).with_name("fake_train_worker.py")
THRESHOLD = PROFILE.thresholds.confidence
SURE = parity_sure(THRESHOLD)


@pytest.fixture
def model(tmp_path: Path) -> Path:
    return build_model(tmp_path / "synthetic.onnx")


@pytest.fixture
def screens(tmp_path: Path) -> dict[str, Path]:
    """Two validation frames the synthetic model knows: a stash screen and a death screen."""
    paths = {}
    for screen in ("stash_screen", "death_screen"):
        paths[screen] = tmp_path / f"{screen}.jpg"
        cv2.imwrite(str(paths[screen]), draw(Shot(screen, 1)))
    return paths


def detector(model: Path) -> OnnxDetector:
    return OnnxDetector(DetectorConfig(model_path=str(model), classes=PROFILE.classes, confidence=parity_floor(THRESHOLD),
                                       iou=PROFILE.thresholds.iou, rect=False))


def what_onnx_finds(model: Path, screens: dict[str, Path]) -> dict[Path, list[Detection]]:
    onnx = detector(model)
    return {path: onnx.detect([cv2.imread(str(path))])[0] for path in screens.values()}


def write_predictions(path: Path, found: dict[Path, list[Detection]]) -> Path:
    path.write_text(json.dumps({"images": {str(image): [
        {"label": d.label, "confidence": d.confidence, "box": [d.box.x0, d.box.y0, d.box.x1, d.box.y1]} for d in boxes
    ] for image, boxes in found.items()}}))
    return path


@pytest.mark.pure
def test_parity_passes_the_same_boxes_and_names_each_difference(model, screens) -> None:  # type: ignore[no-untyped-def]
    same = what_onnx_finds(model, screens)
    assert sum(len(found) for found in same.values()) >= 2
    report = parity_check(same, detector(model), sure=SURE)
    assert report.ok and report.compared == 2 * sum(len(found) for found in same.values())

    # A box a little off (IoU still above 0.9), and one side less sure of it, are no difference.
    stash = screens["stash_screen"]
    (first, *rest) = same[stash]
    assert first.confidence >= SURE
    nudged = Box(first.box.x0 + 0.002, first.box.y0, first.box.x1, first.box.y1 + 0.002)
    near = {**same, stash: [Detection(first.label, SURE - 0.2, nudged), *rest]}
    assert parity_check(near, detector(model), sure=SURE).ok

    # Another class where the ONNX model sees the stash, and nothing where it sees the death screen: refused.
    tampered = {stash: [Detection("death_screen", 0.9, first.box)], screens["death_screen"]: []}
    report = parity_check(tampered, detector(model), sure=SURE)
    assert not report.ok
    assert any("the trained weights found death_screen 0.90" in m for m in report.mismatches)
    assert any("the ONNX model found stash_screen" in m for m in report.mismatches)
    assert "validation frames differ" in report.summary()


@pytest.mark.pure
def test_average_precision_is_the_area_under_the_precision_envelope() -> None:
    ranked = [Scored(0.9, True), Scored(0.8, False), Scored(0.7, True), Scored(0.1, False)]
    assert average_precision(ranked, truths=2) == pytest.approx(0.5 * 1.0 + 0.5 * 2 / 3)
    assert average_precision(ranked, truths=4) == pytest.approx(0.25 * 1.0 + 0.25 * 2 / 3)
    assert average_precision([], truths=3) == 0.0 and average_precision(ranked, truths=0) == 0.0


@pytest.mark.pure
def test_held_out_metrics_come_from_vodscopes_detector(model, screens) -> None:  # type: ignore[no-untyped-def]
    found = what_onnx_finds(model, screens)
    items = [DatasetItem(name=path.stem, width=640, height=360, image=path, split="val", boxes=tuple(
        LabelledBox(d.label, d.box.x0, d.box.y0, d.box.x1, d.box.y1) for d in found[path] if d.confidence >= SURE))
        for path in screens.values()]
    assert all(item.boxes for item in items)
    right = detector_metrics(detector(model), items, threshold=THRESHOLD)
    assert right["map50"] == 1.0 and right["recall"] == 1.0 and right["frames"] == 2
    wrong = [replace(item, boxes=tuple(replace(b, label="mia_screen") for b in item.boxes)) for item in items]
    measured = detector_metrics(detector(model), wrong, threshold=THRESHOLD)
    assert measured["map50"] == 0.0 and measured["recall"] == 0.0 and list(measured["per_class"]) == ["mia_screen"]


@pytest.mark.pure
def test_training_parameters_are_checked() -> None:
    params = train_params_clean({"epochs": 2, "imgsz": 128, "from": "scratch", "recordings": [3, 1, 3]})
    assert (params.epochs, params.imgsz, params.start_from, params.recordings) == (2, 128, "scratch", (1, 3))
    assert train_params_clean(params.to_json()) == params
    gentle = train_params_clean({"base_images": 5, "lr0": 0.002, "mosaic": 0})
    assert (gentle.lr0, gentle.mosaic) == (0.002, 0.0) and train_params_clean(gentle.to_json()) == gentle
    for bad, reason in [({"epochs": 0, "base_images": 5}, "epochs"), ({"imgsz": 100, "base_images": 5}, "multiple of 32"),
                        ({"from": "yesterday", "base_images": 5}, "from"), ({"recordings": ["1"]}, "recordings"),
                        ({"lr": 1, "base_images": 5}, "unknown"), ({}, "nothing to train on"), ([], "an object"),
                        ({"epochs": True, "base_images": 5}, "epochs"),
                        ({"seed": HELDOUT_SEED, "base_images": 5}, "held-out"),
                        ({"lr0": 0, "base_images": 5}, "lr0"), ({"mosaic": "none", "base_images": 5}, "mosaic")]:
        with pytest.raises(TrainError, match=reason):
            train_params_clean(bad)


@pytest.fixture
def fake_worker(settings, monkeypatch, tmp_path, model, screens):  # type: ignore[no-untyped-def]
    """The job runs the fake worker with this venv's python; `spec` says what it reports."""
    settings.VODSCOPE_TRAIN_PYTHON = sys.executable
    settings.VODSCOPE_TRAIN_WORKER = str(FAKE_WORKER)
    settings.VODSCOPE_MODELS_DIR = tmp_path / "models"
    settings.VODSCOPE_MODELS_DIR.mkdir()
    plot = tmp_path / "plot.png"
    cv2.imwrite(str(plot), draw(Shot("stash_screen", 1)))
    spec = {"onnx": str(model), "epoch_seconds": 0.0, "plot": str(plot),
            "predictions": str(write_predictions(tmp_path / "predictions.json", what_onnx_finds(model, screens)))}

    def use(**changes: object) -> None:
        monkeypatch.setenv("FAKE_TRAIN_SPEC", json.dumps({**spec, **changes}))

    use()
    return use



@pytest.mark.django_db
def test_a_job_whose_onnx_disagrees_with_its_weights_fails_and_registers_nothing(  # type: ignore[no-untyped-def]
    fake_worker, labelled_recordings, screens, tmp_path, staff, django_capture_on_commit_callbacks
) -> None:
    stash = screens["stash_screen"]
    fake_worker(predictions=str(write_predictions(tmp_path / "tampered.json", {
        stash: [Detection("death_screen", 0.95, Box(0.0, 0.3, 0.06, 0.7))]})))
    with django_capture_on_commit_callbacks(execute=False):
        job = train_job_start(params={"epochs": 2, "imgsz": 64, "recordings": [r.pk for r in labelled_recordings]},
                              user=staff)
    run_job(job.pk)  # here, whichever mode: the production pass's worker would not see the test's database
    job.refresh_from_db()
    assert job.status == Job.Status.FAILED
    assert "parity check failed, the ONNX model is not registered" in job.error
    assert "the trained weights found death_screen 0.95" in job.error
    assert not ModelVersion.objects.filter(name__startswith="train-").exists()
    assert len(job.checkpoint["epochs"]) == 2  # the epochs it did train stay on the card


@pytest.mark.django_db
def test_a_cancel_stops_the_worker_at_the_next_epoch(fake_worker, labelled_recordings, staff) -> None:  # type: ignore[no-untyped-def]
    fake_worker(epoch_seconds=0.3)
    job = Job.objects.create(kind=Job.Kind.TRAIN, created_by=staff,
                             params={"epochs": 50, "imgsz": 64, "recordings": [r.pk for r in labelled_recordings]})

    def cancel_after_the_first_epoch(job: Job, progress: JobProgress):  # type: ignore[no-untyped-def]
        save = progress.save_checkpoint

        def saved_then_cancelled(checkpoint):  # type: ignore[no-untyped-def]
            save(checkpoint)
            Job.objects.filter(pk=job.pk).update(cancel_requested=True)

        progress.save_checkpoint = saved_then_cancelled  # type: ignore[method-assign]
        return train_job_handle(job, progress)

    finished = job_run(job_id=job.pk, handler=cancel_after_the_first_epoch)
    assert finished is not None and finished.status == Job.Status.CANCELLED
    stopped_at = int((run_folder(finished) / "run" / "stopped.txt").read_text())  # it stopped itself, not killed
    assert 2 <= stopped_at <= 5 and len(finished.checkpoint["epochs"]) == stopped_at - 1
    assert not ModelVersion.objects.filter(name__startswith="train-").exists()


@pytest.mark.django_db
def test_a_worker_that_dies_fails_the_job_with_its_last_words(fake_worker, labelled_recordings, staff) -> None:  # type: ignore[no-untyped-def]
    fake_worker(crash="RuntimeError: out of memory in the data loader")
    job = Job.objects.create(kind=Job.Kind.TRAIN, created_by=staff,
                             params={"epochs": 3, "imgsz": 64, "recordings": [r.pk for r in labelled_recordings]})
    finished = job_run(job_id=job.pk, handler=train_job_handle)
    assert finished is not None and finished.status == Job.Status.FAILED
    assert "the training worker failed (exit 3): RuntimeError: out of memory in the data loader" in finished.error
    assert len(finished.checkpoint["epochs"]) == 1


@pytest.mark.django_db
def test_the_job_card_draws_the_epochs(fake_worker, labelled_recordings, staff, client) -> None:  # type: ignore[no-untyped-def]
    job = Job.objects.create(kind=Job.Kind.TRAIN, created_by=staff, status=Job.Status.RUNNING, params={"epochs": 4},
                             checkpoint={"epochs": [{"epoch": 1, "box_loss": 2.0, "cls_loss": 3.0, "dfl_loss": 1.0,
                                                     "map50": 0.2, "map50_95": 0.1},
                                                    {"epoch": 2, "box_loss": 1.0, "cls_loss": 1.5, "dfl_loss": 0.8,
                                                     "map50": 0.6, "map50_95": 0.3}]})
    client.force_login(staff)
    html = client.get(f"/jobs/{job.pk}/progress/").content.decode()
    assert 'aria-label="training: 2 of 4 epochs"' in html
    # Two of four epochs: the x axis spans the epochs asked for; mAP50 0.6 sits at 40% from the top of 90 px.
    assert 'class="series-map50"' in html and 'points="0.0,72.0 73.3,36.0"' in html
    assert "epoch 2/4" in html


@pytest.mark.django_db
def test_training_needs_its_venv_and_good_parameters(settings, staff, labelled_recordings, client) -> None:  # type: ignore[no-untyped-def]
    settings.VODSCOPE_TRAIN_PYTHON = "/nonexistent/.venv-train/bin/python"
    with pytest.raises(TrainError, match=r"scripts/setup.sh train"):
        train_job_start(params={"base_images": 10})
    with pytest.raises(CommandError, match=r"scripts/setup.sh train"):
        call_command("train_model", "--base-images", "10")
    client.force_login(staff)
    response = client.post("/models/train/", {"epochs": "0", "imgsz": "320", "start_from": "active",
                                              "base_images": "10"}, follow=True)
    assert "Training not started: epochs" in response.content.decode()
    response = client.post("/models/train/", {"epochs": "1", "imgsz": "320", "start_from": "active",
                                              "base_images": "10"}, follow=True)
    assert "Training not started: no training environment" in response.content.decode()
    assert not Job.objects.filter(kind=Job.Kind.TRAIN).exists()


@pytest.mark.django_db
def test_the_admin_action_queues_a_train_job_on_the_selected_recordings(  # type: ignore[no-untyped-def]
    fake_worker, labelled_recordings, staff, rf, django_capture_on_commit_callbacks
) -> None:
    told: list[tuple[str, int]] = []

    class Admin:
        def message_user(self, request, text, level):  # type: ignore[no-untyped-def]
            told.append((text, level))

    request = rf.post("/admin/detection/recording/")
    request.user = staff
    with django_capture_on_commit_callbacks(execute=False):
        train_on_selected_recordings(Admin(), request, Recording.objects.filter(pk__in=[r.pk for r in labelled_recordings]))
    job = Job.objects.get(kind=Job.Kind.TRAIN)
    assert job.params["recordings"] == sorted(r.pk for r in labelled_recordings) and job.created_by == staff
    assert told == [(f"Queued train job {job.pk}; follow it on the Models page", messages.SUCCESS)]


@pytest.mark.django_db
def test_one_recording_alone_has_no_validation_side(fake_worker, labelled_recordings, staff) -> None:  # type: ignore[no-untyped-def]
    job = Job.objects.create(kind=Job.Kind.TRAIN, created_by=staff,
                             params={"epochs": 1, "imgsz": 64, "recordings": [labelled_recordings[0].pk]})
    finished = job_run(job_id=job.pk, handler=train_job_handle)
    assert finished is not None and finished.status == Job.Status.FAILED
    assert "no validation frames" in finished.error


@pytest.mark.django_db
def test_the_models_page_is_for_staff_only(owner, client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(owner)
    assert client.get("/models/").status_code == 404
    assert client.post("/models/rollback/").status_code == 404

