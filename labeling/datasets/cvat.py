"""CVAT for images 1.1 XML, project form: annotations.xml with the subsets, images/<subset>/<name>.

Boxes are written in pixels with two decimals, as CVAT does; read back and normalised they round to
the same four decimals the annotations are stored with (for any frame over 100 px wide).
"""
from __future__ import annotations

import shutil
import xml.etree.ElementTree as ET
from collections.abc import Iterable, Sequence
from pathlib import Path

from .items import DatasetError, DatasetItem, LabelledBox

ANNOTATIONS = "annotations.xml"


def write_cvat(root: str | Path, items: Iterable[DatasetItem], *, classes: Sequence[str]) -> Path:
    root = Path(root)
    items = list(items)
    subsets = sorted({item.split for item in items}) or ["train"]
    top = ET.Element("annotations")
    ET.SubElement(top, "version").text = "1.1"
    project = ET.SubElement(ET.SubElement(top, "meta"), "project")
    ET.SubElement(project, "name").text = "vodscope"
    labels = ET.SubElement(project, "labels")
    for name in classes:
        label = ET.SubElement(labels, "label")
        ET.SubElement(label, "name").text = name
        ET.SubElement(label, "type").text = "rectangle"
        ET.SubElement(label, "attributes")
    tasks = ET.SubElement(project, "tasks")
    for subset in subsets:
        ET.SubElement(ET.SubElement(tasks, "task"), "subset").text = subset
    for index, item in enumerate(items):
        if item.image is None:
            raise DatasetError(f"{item.name}: no image file")
        file_name = f"{item.name}{item.image.suffix.lower()}"
        folder = root / "images" / item.split
        folder.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(item.image, folder / file_name)
        image = ET.SubElement(top, "image", id=str(index), name=file_name, subset=item.split,
                              width=str(item.width), height=str(item.height))
        for box in item.boxes:
            if box.label not in classes:
                raise DatasetError(f"class {box.label!r} is not one of the dataset's classes {list(classes)}")
            ET.SubElement(image, "box", label=box.label, source="manual", occluded="0", z_order="0",
                          xtl=f"{box.x0 * item.width:.2f}", ytl=f"{box.y0 * item.height:.2f}",
                          xbr=f"{box.x1 * item.width:.2f}", ybr=f"{box.y1 * item.height:.2f}")
    tree = ET.ElementTree(top)
    ET.indent(tree)
    path = root / ANNOTATIONS
    tree.write(path, encoding="utf-8", xml_declaration=True)
    return path


def read_cvat(root: str | Path) -> tuple[list[str], list[DatasetItem]]:
    """Classes and items of a CVAT 1.1 export (a folder with annotations.xml, or the XML file itself)."""
    root = Path(root)
    path = root / ANNOTATIONS if root.is_dir() else root
    try:
        top = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as exc:
        raise DatasetError(f"{path}: not a readable CVAT XML file ({exc})") from None
    if top.tag != "annotations":
        raise DatasetError(f"{path}: the root element is <{top.tag}>, CVAT's is <annotations>")
    classes = [name.text or "" for name in top.iterfind("meta/*/labels/label/name")]
    items: list[DatasetItem] = []
    for image in top.iterfind("image"):
        try:
            name, width, height = image.attrib["name"], int(image.attrib["width"]), int(image.attrib["height"])
            split = image.attrib.get("subset") or "train"
            boxes = tuple(
                LabelledBox(box.attrib["label"], float(box.attrib["xtl"]) / width, float(box.attrib["ytl"]) / height,
                            float(box.attrib["xbr"]) / width, float(box.attrib["ybr"]) / height).rounded()
                for box in image.iterfind("box")
            )
        except (KeyError, ValueError, ZeroDivisionError) as exc:
            raise DatasetError(f"{path}: image {image.attrib.get('name', '?')} has a missing or bad value ({exc})") from None
        # A project export keeps images per subset; CVAT's task export puts them straight in images/.
        files = [path.parent / "images" / split / name, path.parent / "images" / name]
        image_file = next((f for f in files if f.is_file()), None)
        items.append(DatasetItem(name=Path(name).stem, width=width, height=height, boxes=boxes,
                                 image=image_file, split=split))
    return classes, items
