"""Training datasets: one YOLO writer and one CVAT 1.1 writer (with their readers) over plain dataclasses.

`items.py`, `yolo.py`, `cvat.py` and `split.py` import no Django, so the renderer's training-set maker
(detection/render/dataset.py) writes through the same code as the export of reviewed frames;
`services.py` is the Django side (annotations from review, export, import).
"""
