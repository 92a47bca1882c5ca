"""Export labelled frames as YOLO or CVAT 1.1 (split by recording) and import either format back,
merging with what is stored: a frame in the import takes the imported boxes, frames not in it stay."""
from __future__ import annotations

import shutil
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import transaction

from detection.models import Recording
from detection.pipeline.profile import load_profile
from labeling.models import AnnotationChange, BoxAnnotation, FrameAnnotation

from .annotations import frame_boxes, frame_image_ensure
from .cvat import read_cvat, write_cvat
from .items import DatasetError, DatasetItem, LabelledBox, frame_item_name, parse_frame_item_name
from .split import split_groups
from .yolo import YoloWriter, read_yolo

FORMATS = ("yolo", "cvat")


@dataclass(frozen=True)
class ExportSummary:
    out: str
    format: str
    images: int
    boxes: int
    negatives: int
    train_recordings: tuple[int, ...]
    val_recordings: tuple[int, ...]


@dataclass(frozen=True)
class ImportSummary:
    frames: int
    created: int
    changed: int
    unchanged: int


def dataset_classes() -> list[str]:
    return list(load_profile(settings.VODSCOPE_GAME_PROFILE).classes)


def _check_format(format: str) -> None:
    if format not in FORMATS:
        raise DatasetError(f"format {format!r}: use one of {', '.join(FORMATS)}")


def dataset_items(*, recording_ids: Sequence[int], val_fraction: float = 0.2) -> list[DatasetItem]:
    """The labelled frames of these recordings with their images (extracted now if needed), split by recording."""
    found = set(Recording.objects.filter(pk__in=recording_ids).values_list("pk", flat=True))
    missing = sorted(set(recording_ids) - found)
    if missing:
        raise DatasetError(f"no recording {', '.join(f'#{m}' for m in missing)}")
    splits = split_groups([str(r) for r in found], val_fraction=val_fraction)
    frames = (FrameAnnotation.objects.filter(recording_id__in=found, status=FrameAnnotation.Status.LABELLED)
              .select_related("recording").prefetch_related("boxes"))
    items = []
    for frame in frames:
        image = frame_image_ensure(frame)
        boxes = tuple(LabelledBox(b.label, b.x0, b.y0, b.x1, b.y1) for b in frame.boxes.all())
        items.append(DatasetItem(name=frame_item_name(frame.recording_id, frame.frame_number), width=frame.image_width,
                                 height=frame.image_height, boxes=boxes, image=image,
                                 split=splits[str(frame.recording_id)], group=str(frame.recording_id)))
    return items


def dataset_export(*, recording_ids: Sequence[int], format: str, out: str | Path) -> ExportSummary:
    _check_format(format)
    classes = dataset_classes()
    items = dataset_items(recording_ids=recording_ids)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    if format == "yolo":
        writer = YoloWriter(out, classes=classes)
        for item in items:
            writer.add_item(item)
        writer.finish()
    else:
        write_cvat(out, items, classes=classes)
    sides = {split: tuple(sorted({int(i.group) for i in items if i.split == split})) for split in ("train", "val")}
    return ExportSummary(out=str(out), format=format, images=len(items), boxes=sum(len(i.boxes) for i in items),
                         negatives=sum(not i.boxes for i in items), train_recordings=sides["train"],
                         val_recordings=sides["val"])


def annotations_import(*, path: str | Path, format: str, user: Any = None) -> ImportSummary:
    """Read a YOLO or CVAT export (frames named r<recording>_f<frame>) and merge it; all or nothing."""
    _check_format(format)
    classes, items = read_yolo(path) if format == "yolo" else read_cvat(path)
    profile_classes = dataset_classes()
    wanted = {parse_frame_item_name(item.name): item for item in items}
    unknown = sorted({b.label for item in items for b in item.boxes} - set(profile_classes))
    if unknown:
        raise DatasetError(f"classes {unknown} are not in the game profile's {profile_classes}")
    recordings = Recording.objects.in_bulk({recording for recording, _ in wanted})
    missing = sorted({recording for recording, _ in wanted} - set(recordings))
    if missing:
        raise DatasetError(f"the import names recordings that do not exist: {', '.join(f'#{m}' for m in missing)}")
    created = changed = 0
    with transaction.atomic():
        for (recording_id, frame_number), item in sorted(wanted.items()):
            recording = recordings[recording_id]
            frame, made = FrameAnnotation.objects.select_for_update().get_or_create(
                recording=recording, frame_number=frame_number,
                defaults={"video_offset_seconds": frame_number / (recording.avg_fps or 30.0),
                          "source": FrameAnnotation.Source.IMPORT},
            )
            before = frame_boxes(frame)
            new = sorted((b.label, b.x0, b.y0, b.x1, b.y1) for b in item.boxes)
            old = sorted((b["label"], *b["box"]) for b in before)
            if not made and new == old and frame.status == FrameAnnotation.Status.LABELLED:
                continue
            frame.boxes.all().delete()
            BoxAnnotation.objects.bulk_create(
                BoxAnnotation(frame=frame, label=label, x0=x0, y0=y0, x1=x1, y1=y1) for label, x0, y0, x1, y1 in new
            )
            frame.status, frame.reason = FrameAnnotation.Status.LABELLED, f"imported ({format})"
            _keep_image(frame, item)
            frame.save()
            AnnotationChange.objects.create(frame=frame, user=user, action=f"import:{format}",
                                            before={"boxes": before}, after={"boxes": frame_boxes(frame)})
            created += made
            changed += not made
    return ImportSummary(frames=len(wanted), created=created, changed=changed, unchanged=len(wanted) - created - changed)


def _keep_image(frame: FrameAnnotation, item: DatasetItem) -> None:
    """A frame with no image yet takes the imported one (it is the frame the boxes were drawn on)."""
    if frame.image or item.image is None:
        return
    relative = Path("annotations") / f"r{frame.recording_id}" / f"{item.name}{item.image.suffix.lower()}"
    target = Path(settings.MEDIA_ROOT) / relative
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(item.image, target)
    frame.image, frame.image_width, frame.image_height = str(relative), item.width, item.height
