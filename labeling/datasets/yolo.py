"""YOLO (ultralytics) datasets: images/<split>/<name>.jpg, labels/<split>/<name>.txt, data.yaml.

Each label line is `class cx cy w h`, normalised, six decimals; an image with an empty label file is a
negative. The renderer's training-set maker and the export of reviewed frames both write through
`YoloWriter`, so the two can never drift apart.
"""
from __future__ import annotations

import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import yaml
from PIL import Image

from detection.pipeline.resize import area_resize, fitted_size

from .items import DatasetError, DatasetItem, LabelledBox

SPLITS = ("train", "val")
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".webp")


@dataclass(frozen=True)
class YoloLabel:
    index: int
    cx: float
    cy: float
    w: float
    h: float

    def line(self) -> str:
        return f"{self.index} {self.cx:.6f} {self.cy:.6f} {self.w:.6f} {self.h:.6f}"


def yolo_label(box: LabelledBox, classes: Sequence[str]) -> YoloLabel:
    if box.label not in classes:
        raise DatasetError(f"class {box.label!r} is not one of the dataset's classes {list(classes)}")
    return YoloLabel(classes.index(box.label), (box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2, box.x1 - box.x0, box.y1 - box.y0)


class YoloWriter:
    """`max_side`: images larger than that are written shrunk to it by the detector's own resize (a training set
    at its training size, see detection/pipeline/resize.py); None writes them as they are (an export)."""

    def __init__(self, root: str | Path, *, classes: Sequence[str], max_side: int | None = None) -> None:
        self.root = Path(root)
        self.classes = list(classes)
        self.max_side = max_side
        for split in SPLITS:
            (self.root / "images" / split).mkdir(parents=True, exist_ok=True)
            (self.root / "labels" / split).mkdir(parents=True, exist_ok=True)

    def add(self, *, name: str, split: str, image: Image.Image | Path, labels: Iterable[YoloLabel]) -> None:
        """One image and its label file; a PIL image is saved as JPEG (quality 90), a file is copied as it is."""
        if split not in SPLITS:
            raise DatasetError(f"split {split!r}: use one of {SPLITS}")
        if self.max_side is not None:
            image = self._fitted(image, self.max_side)
        if isinstance(image, Path):
            shutil.copyfile(image, self.root / "images" / split / f"{name}{image.suffix.lower()}")
        else:
            image.save(self.root / "images" / split / f"{name}.jpg", quality=90)
        (self.root / "labels" / split / f"{name}.txt").write_text("".join(label.line() + "\n" for label in labels))

    @staticmethod
    def _fitted(image: Image.Image | Path, side: int) -> Image.Image | Path:
        """`image` itself when it fits in side x side, else a copy shrunk to fit (labels are normalised: unchanged)."""
        try:
            opened = Image.open(image) if isinstance(image, Path) else image
        except OSError as exc:
            raise DatasetError(f"{image}: not an image ({exc})") from None
        if max(opened.size) <= side:
            return image
        width, height, _ = fitted_size(*opened.size, side)
        return Image.fromarray(area_resize(np.asarray(opened.convert("RGB")), width, height))

    def add_item(self, item: DatasetItem) -> None:
        if item.image is None:
            raise DatasetError(f"{item.name}: no image file")
        self.add(name=item.name, split=item.split, image=item.image,
                 labels=[yolo_label(box, self.classes) for box in item.boxes])

    def finish(self) -> Path:
        data = {"path": str(self.root.resolve()), "train": "images/train", "val": "images/val",
                "names": dict(enumerate(self.classes))}
        path = self.root / "data.yaml"
        path.write_text(yaml.safe_dump(data, sort_keys=False))
        return path


def read_yolo(root: str | Path) -> tuple[list[str], list[DatasetItem]]:
    """The classes and items of a YOLO dataset (a folder with data.yaml); boxes rounded as stored."""
    root = Path(root)
    meta_path = root / "data.yaml"
    try:
        meta = yaml.safe_load(meta_path.read_text())
        names = meta["names"]
    except (OSError, yaml.YAMLError, KeyError, TypeError) as exc:
        raise DatasetError(f"{meta_path}: not a YOLO data.yaml with names ({exc})") from None
    classes = [str(names[k]) for k in sorted(names)] if isinstance(names, dict) else [str(n) for n in names]
    items: list[DatasetItem] = []
    for split in SPLITS:
        for image_path in sorted((root / "images" / split).glob("*")):
            if image_path.suffix.lower() not in IMAGE_SUFFIXES:
                continue
            label_path = root / "labels" / split / f"{image_path.stem}.txt"
            text = label_path.read_text() if label_path.is_file() else ""
            with Image.open(image_path) as image:
                width, height = image.size
            boxes = tuple(_box(line, classes, label_path) for line in text.splitlines() if line.strip())
            items.append(DatasetItem(name=image_path.stem, width=width, height=height, boxes=boxes,
                                     image=image_path, split=split))
    return classes, items


def _box(line: str, classes: Sequence[str], path: Path) -> LabelledBox:
    try:
        index, cx, cy, w, h = line.split()
        label = classes[int(index)]
        x, y, bw, bh = float(cx), float(cy), float(w), float(h)
    except (ValueError, IndexError):
        raise DatasetError(f"{path}: {line!r} is not `class cx cy w h` with a known class") from None
    return LabelledBox(label, x - bw / 2, y - bh / 2, x + bw / 2, y + bh / 2).rounded()
