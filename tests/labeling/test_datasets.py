"""Review makes training data; one writer exports YOLO and CVAT 1.1 split by recording; the exports
read back (by us and by datumaro, a real reader of both formats) to the same annotations."""
from __future__ import annotations

from io import StringIO
from pathlib import Path

import av
import cv2
import pytest
import yaml
from PIL import Image
from datumaro.components.annotation import AnnotationType
from datumaro.components.dataset import Dataset

from django.core.management import CommandError, call_command

from detection.models import DetectedEvent, Job, ModelVersion, RejectedObservation
from labeling.datasets.annotations import annotation_candidates_collect
from labeling.datasets.frames import extract_frame
from labeling.datasets.items import DatasetError
from labeling.datasets.jobs import export_job_start, export_out_dir, export_params_clean
from labeling.datasets.split import split_groups
from labeling.datasets.transfer import annotations_import, dataset_export
from labeling.models import AnnotationChange, BoxAnnotation, FrameAnnotation
from project.jobs.dispatch import run_job
from review.services import event_approve, event_delete, event_restore, review_undo_last
from tests.conftest import render_test_video
from tests.factories import DetectedEventFactory, RecordingFactory

pytestmark = pytest.mark.django_db

WIDTH, HEIGHT = 320, 180


@pytest.fixture
def media(settings, tmp_path):  # type: ignore[no-untyped-def]
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT


@pytest.fixture(scope="module")
def video(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return render_test_video(tmp_path_factory.mktemp("video") / "clip.mkv", seconds=2.0, fps=30, size=f"{WIDTH}x{HEIGHT}")


def seen(recording, frame: int, label: str, box: list[float], **extra) -> DetectedEvent:  # type: ignore[no-untyped-def]
    evidence = {"class": label, "box": box, "confidence": 0.9, "confirmed_at_frame": frame}
    return DetectedEventFactory(recording=recording, frame_number=max(0, frame - 2), evidence=evidence, **extra)


def stored() -> list[tuple]:
    """Every labelled frame with its boxes, as comparable values."""
    return sorted(
        (f.recording_id, f.frame_number, tuple(sorted((b.label, b.x0, b.y0, b.x1, b.y1) for b in f.boxes.all())))
        for f in FrameAnnotation.objects.filter(status=FrameAnnotation.Status.LABELLED)
    )


@pytest.fixture
def reviewed(media, video, owner):  # type: ignore[no-untyped-def]
    """Three recordings of the same clip, reviewed: positives, a hard negative, two boxes on one frame."""
    recordings = [RecordingFactory(owner=owner, source_path=str(video), avg_fps=30.0, width=WIDTH, height=HEIGHT)
                  for _ in range(3)]
    for index, recording in enumerate(recordings):
        event_approve(event=seen(recording, 10 + index, "kill_notification", [0.6123, 0.05, 0.9877, 0.1432]), user=owner)
        event_approve(event=seen(recording, 10 + index, "gameplay_hud", [0.0, 0.8, 0.3, 1.0]), user=owner)
        event_delete(event=seen(recording, 40, "death_screen", [0.1, 0.1, 0.9, 0.9]), user=owner)
    return recordings


def test_approve_makes_a_positive_and_delete_a_hard_negative_with_an_audit(media, video, owner) -> None:
    recording = RecordingFactory(owner=owner, source_path=str(video), avg_fps=30.0)
    event = seen(recording, 12, "kill_notification", [0.61234, 0.05, 0.9, 0.14])
    event_approve(event=event, user=owner)
    frame = FrameAnnotation.objects.get(recording=recording)
    assert (frame.frame_number, frame.status, frame.source) == (12, "labelled", "review")
    assert [(b.label, b.x0, b.event_id) for b in frame.boxes.all()] == [("kill_notification", 0.6123, event.pk)]

    event_delete(event=event, user=owner)  # it was a false positive after all
    frame.refresh_from_db()
    assert not frame.boxes.exists() and frame.status == "labelled" and frame.reason.startswith("hard negative")
    event_restore(event=event, user=owner)
    assert frame.boxes.count() == 1
    review_undo_last(recording=recording, user=owner)  # undo the restore: deleted again
    assert frame.boxes.count() == 0
    actions = list(AnnotationChange.objects.filter(frame=frame).order_by("id").values_list("action", flat=True))
    assert actions == ["review:approved", "review:deleted", "review:approved", "review:deleted"]


def test_an_event_without_a_box_leaves_no_annotation(media, owner) -> None:
    event_approve(event=DetectedEventFactory(evidence={}), user=owner)
    assert not FrameAnnotation.objects.exists()


def test_unreviewed_detections_and_rejections_become_candidates(media, owner) -> None:
    recording = RecordingFactory(owner=owner)
    seen(recording, 5, "kill_notification", [0.1, 0.1, 0.2, 0.2], confidence=0.6)
    RejectedObservation.objects.create(recording=recording, observation_key="r1", from_state="lobby",
                                       observed_screen="death_screen", video_offset_seconds=3.0, frame_number=180,
                                       confidence=0.8)
    assert annotation_candidates_collect(recording=recording) == 2
    assert annotation_candidates_collect(recording=recording) == 0
    candidates = {f.frame_number: f for f in FrameAnnotation.objects.filter(status="candidate")}
    assert candidates[5].confidence == 0.6 and not candidates[5].rejected and candidates[5].label == "kill_notification"
    assert candidates[180].rejected and "death_screen" in candidates[180].reason
    DetectedEvent.objects.filter(recording=recording).update(review_status="approved")  # reviewed elsewhere
    assert annotation_candidates_collect(recording=recording) == 0
    assert list(FrameAnnotation.objects.values_list("frame_number", flat=True)) == [180]


def test_split_keeps_each_recording_on_one_side() -> None:
    groups = [str(n) for n in range(10)]
    sides = split_groups(groups, val_fraction=0.2)
    assert sorted(sides.values()).count("val") == 2
    assert split_groups(list(reversed(groups)), val_fraction=0.2) == sides
    assert split_groups(["7"]) == {"7": "train"}


@pytest.mark.parametrize("format", ["yolo", "cvat"])
def test_export_then_import_gives_identical_annotations(reviewed, tmp_path, format) -> None:
    before = stored()
    assert len(before) == 6 and sum(len(boxes) for *_, boxes in before) == 6
    summary = dataset_export(recording_ids=[r.pk for r in reviewed], format=format, out=tmp_path / "out")
    assert (summary.images, summary.boxes, summary.negatives) == (6, 6, 3)
    assert not set(summary.train_recordings) & set(summary.val_recordings) and summary.val_recordings

    BoxAnnotation.objects.all().delete()
    FrameAnnotation.objects.all().delete()
    result = annotations_import(path=tmp_path / "out", format=format)
    assert (result.frames, result.created) == (6, 6)
    assert stored() == before
    again = annotations_import(path=tmp_path / "out", format=format)
    assert (again.changed, again.unchanged) == (0, 6)


def test_yolo_export_is_split_by_recording_and_read_by_datumaro(reviewed, tmp_path) -> None:
    summary = dataset_export(recording_ids=[r.pk for r in reviewed], format="yolo", out=tmp_path / "yolo")
    data = yaml.safe_load((tmp_path / "yolo" / "data.yaml").read_text())
    assert data["train"] == "images/train" and data["names"][7] == "kill_notification"
    for split, recordings in (("train", summary.train_recordings), ("val", summary.val_recordings)):
        names = [p.stem for p in (tmp_path / "yolo" / "images" / split).glob("*.jpg")]
        assert {int(n.split("_")[0][1:]) for n in names} == set(recordings)

    dataset = Dataset.import_from(str(tmp_path / "yolo"), "yolo")
    labels = dataset.categories()[AnnotationType.label]
    boxes = [(labels[a.label].name, round(a.x / WIDTH, 4)) for item in dataset for a in item.annotations]
    assert len(dataset) == 6 and ("kill_notification", 0.6123) in boxes and len(boxes) == 6


def test_cvat_export_is_read_by_datumaro(reviewed, tmp_path) -> None:
    dataset_export(recording_ids=[r.pk for r in reviewed], format="cvat", out=tmp_path / "cvat")
    dataset = Dataset.import_from(str(tmp_path / "cvat"), "cvat")
    labels = dataset.categories()[AnnotationType.label]
    boxes = sorted((labels[a.label].name, round(a.x / WIDTH, 4), round(a.w / WIDTH, 4))
                   for item in dataset for a in item.annotations)
    assert len(dataset) == 6 and {item.subset for item in dataset} == {"train", "val"}
    assert boxes.count(("kill_notification", 0.6123, 0.3754)) == 3 and len(boxes) == 6
    assert all(item.media is not None and item.media.has_data for item in dataset)


def test_bad_imports_are_refused_and_change_nothing(reviewed, tmp_path) -> None:
    dataset_export(recording_ids=[reviewed[0].pk], format="yolo", out=tmp_path / "yolo")
    before = stored()
    label = next((tmp_path / "yolo" / "labels").rglob("*.txt"))
    label.write_text("99 0.5 0.5 0.1 0.1\n")
    with pytest.raises(DatasetError, match="known class"):
        annotations_import(path=tmp_path / "yolo", format="yolo")
    with pytest.raises(DatasetError, match="not a readable CVAT"):
        annotations_import(path=tmp_path / "nothing.xml", format="cvat")
    with pytest.raises(DatasetError, match="format"):
        annotations_import(path=tmp_path / "yolo", format="coco")
    assert stored() == before


def test_the_commands_export_and_import_back(reviewed, tmp_path) -> None:  # type: ignore[no-untyped-def]
    before = stored()
    args = [arg for r in reviewed for arg in ("--recording", str(r.pk))]
    out = StringIO()
    call_command("export_dataset", *args, "--format", "cvat", "--out", str(tmp_path / "c"), stdout=out)
    assert "6 images (3 negatives), 6 boxes" in out.getvalue()
    BoxAnnotation.objects.all().delete()
    call_command("import_annotations", str(tmp_path / "c"), "--format", "cvat", stdout=out)
    assert stored() == before
    with pytest.raises(CommandError, match="no recording #999999"):
        call_command("export_dataset", "--recording", "999999", "--out", str(tmp_path / "x"))


def test_the_export_job_writes_under_media_and_refuses_bad_parameters(reviewed, owner) -> None:  # type: ignore[no-untyped-def]
    job = export_job_start(recording_ids=[reviewed[0].pk, reviewed[1].pk], format="yolo", user=owner)
    run_job(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.result["images"] == 4 and (export_out_dir(job) / "data.yaml").is_file()
    for params in ({"recordings": []}, {"recordings": ["1"]}, {"recordings": [1], "format": "coco"}, None):
        with pytest.raises(DatasetError):
            export_params_clean(params)


def test_admin_exports_recordings_and_rolls_back_models(reviewed, staff, client) -> None:  # type: ignore[no-untyped-def]
    client.force_login(staff)
    response = client.post("/admin/detection/recording/", {
        "action": "export_selected_recordings_cvat", "_selected_action": [r.pk for r in reviewed]}, follow=True)
    assert response.status_code == 200 and "Queued export job" in response.content.decode()
    assert Job.objects.get(kind=Job.Kind.EXPORT).params == {"recordings": sorted(r.pk for r in reviewed),
                                                            "format": "cvat"}
    v1 = ModelVersion.objects.create(name="v1", onnx_file="/m/v1.onnx", active=True)
    v2 = ModelVersion.objects.create(name="v2", onnx_file="/m/v2.onnx")
    client.post("/admin/detection/modelversion/", {"action": "activate_model_version", "_selected_action": [v2.pk]})
    assert ModelVersion.objects.get(active=True) == v2
    response = client.post("/admin/detection/modelversion/", {
        "action": "rollback_model_version", "_selected_action": [v2.pk]}, follow=True)
    assert ModelVersion.objects.get(active=True) == v1 and "back to v1" in response.content.decode()
    assert client.get(f"/admin/labeling/frameannotation/{FrameAnnotation.objects.first().pk}/change/").status_code == 200


@pytest.mark.parametrize("vfr", [False, True])
def test_a_frame_is_extracted_at_the_pts_the_pipeline_numbered(tmp_path, video, vfr) -> None:  # type: ignore[no-untyped-def]
    source = video if not vfr else render_test_video(tmp_path / "vfr.mkv", seconds=2.0, fps=30, size="320x180", vfr=True)
    with av.open(str(source)) as container:
        decoded = {round(float(f.time) * 30): (float(f.time), f.to_ndarray(format="bgr24")) for f in container.decode(video=0)}
    number = sorted(decoded)[17]
    extracted = extract_frame(source, frame_number=number, out=tmp_path / "f.jpg")
    assert extracted.video_time == pytest.approx(decoded[number][0])
    image = cv2.imread(str(extracted.path)).astype(float)
    errors = {n: abs(image - pixels.astype(float)).mean() for n, (_, pixels) in decoded.items()}
    assert min(errors, key=errors.__getitem__) == number
    with pytest.raises(DatasetError, match="no frame 9999"):
        extract_frame(source, frame_number=9999, out=tmp_path / "g.jpg")


def test_a_cvat_task_export_merges_into_what_is_there(reviewed, tmp_path) -> None:  # type: ignore[no-untyped-def]
    """As CVAT writes a task: <meta><task>, no subsets, images straight in images/."""
    recording = reviewed[0]
    (tmp_path / "task" / "images").mkdir(parents=True)
    Image.new("RGB", (WIDTH, HEIGHT)).save(tmp_path / "task" / "images" / f"r{recording.pk}_f00000077.jpg")
    (tmp_path / "task" / "annotations.xml").write_text(f"""<?xml version="1.0" encoding="utf-8"?>
<annotations><version>1.1</version>
  <meta><task><name>edited</name><labels><label><name>death_screen</name></label></labels></task></meta>
  <image id="0" name="r{recording.pk}_f00000077.jpg" width="{WIDTH}" height="{HEIGHT}">
    <box label="death_screen" occluded="0" xtl="32.00" ytl="18.00" xbr="288.00" ybr="162.00" z_order="0"/>
  </image>
</annotations>""")
    before = stored()
    summary = annotations_import(path=tmp_path / "task" / "annotations.xml", format="cvat")
    assert (summary.created, summary.changed) == (1, 0)
    frame = FrameAnnotation.objects.get(recording=recording, frame_number=77)
    assert [(b.label, b.x0, b.y0, b.x1, b.y1) for b in frame.boxes.all()] == [("death_screen", 0.1, 0.1, 0.9, 0.9)]
    assert frame.source == "import" and frame.image.endswith(".jpg") and frame.image_width == WIDTH
    assert [row for row in stored() if row[:2] != (recording.pk, 77)] == before
