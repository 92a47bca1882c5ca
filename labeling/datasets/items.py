"""What a dataset holds, independent of its format: named images of a known size with normalised boxes."""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

# Boxes are stored at four decimals (0.2 px on a 1920-wide frame): every format writes them back exactly.
BOX_DECIMALS = 4
_NAME = re.compile(r"^r(?P<recording>\d+)_f(?P<frame>\d+)$")


class DatasetError(ValueError):
    """A dataset that cannot be written or read; the message says which file and why."""


@dataclass(frozen=True)
class LabelledBox:
    """A box normalised to its image (0..1), x0 < x1, y0 < y1."""

    label: str
    x0: float
    y0: float
    x1: float
    y1: float

    def rounded(self) -> LabelledBox:
        def clip(v: float) -> float:
            return round(min(1.0, max(0.0, v)), BOX_DECIMALS)

        return LabelledBox(self.label, clip(self.x0), clip(self.y0), clip(self.x1), clip(self.y1))


@dataclass(frozen=True)
class DatasetItem:
    """One image: `name` without extension, unique in the dataset; `image` is the file to copy in."""

    name: str
    width: int
    height: int
    boxes: tuple[LabelledBox, ...] = ()
    image: Path | None = None
    split: str = "train"
    group: str = field(default="", compare=False)


def frame_item_name(recording_id: int, frame_number: int) -> str:
    """The name a recording's frame has in every export, so an import finds the frame again."""
    return f"r{recording_id}_f{frame_number:08d}"


def parse_frame_item_name(name: str) -> tuple[int, int]:
    """(recording id, frame number) from `frame_item_name`'s form; DatasetError for any other name."""
    match = _NAME.match(Path(name).stem)
    if match is None:
        raise DatasetError(f"{name}: not a Vodscope frame name (r<recording>_f<frame>)")
    return int(match["recording"]), int(match["frame"])
