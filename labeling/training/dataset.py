"""The training set of a run: a rendered base set (optional) and the reviewed frames of the chosen recordings,
written through the one YOLO writer, split by recording (and the base set by its own draw)."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from detection.render.dataset import make_dataset
from labeling.datasets.items import DatasetError
from labeling.datasets.transfer import dataset_classes, dataset_items
from labeling.datasets.yolo import IMAGE_SUFFIXES, YoloWriter

from .params import TrainError

BASE_VAL_FRACTION = 0.2


@dataclass(frozen=True)
class TrainingSet:
    data_yaml: Path
    train_images: int
    val_images: int
    reviewed_frames: int
    base_images: int
    train_recordings: tuple[int, ...]
    val_recordings: tuple[int, ...]

    def to_json(self) -> dict[str, object]:
        return {"train_images": self.train_images, "val_images": self.val_images,
                "reviewed_frames": self.reviewed_frames, "base_images": self.base_images,
                "train_recordings": list(self.train_recordings), "val_recordings": list(self.val_recordings)}


def training_set_write(
    *, root: Path, recording_ids: Sequence[int], base_images: int, seed: int, max_side: int,
    progress: Callable[[int, int], None] | None = None,
) -> TrainingSet:
    """Write the dataset under `root`; TrainError when a side would be empty (ultralytics needs both)."""
    if base_images:
        make_dataset(root, images=base_images, seed=seed, val_fraction=BASE_VAL_FRACTION, max_side=max_side,
                     progress=progress)
    writer = YoloWriter(root, classes=dataset_classes(), max_side=max_side)
    try:
        items = dataset_items(recording_ids=recording_ids) if recording_ids else []
        for item in items:
            writer.add_item(item)
    except DatasetError as exc:
        raise TrainError(str(exc)) from exc
    data_yaml = writer.finish()
    counts = {split: sum(1 for p in (root / "images" / split).iterdir() if p.suffix.lower() in IMAGE_SUFFIXES)
              for split in ("train", "val")}
    sides = {split: tuple(sorted({int(i.group) for i in items if i.split == split})) for split in ("train", "val")}
    if not counts["train"]:
        raise TrainError("no training frames: the chosen recordings have no reviewed frames and no base set was asked for")
    if not counts["val"]:
        raise TrainError("no validation frames: choose two or more recordings with reviewed frames (split by "
                         "recording) or add base rendered images")
    return TrainingSet(data_yaml=data_yaml, train_images=counts["train"], val_images=counts["val"],
                       reviewed_frames=len(items), base_images=base_images, train_recordings=sides["train"],
                       val_recordings=sides["val"])
