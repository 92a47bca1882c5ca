"""The one downscale every model input goes through: the detector's letterbox and the training sets' images.

A model must be trained on the pixels it will be run on. Left to itself, ultralytics shrinks a training image
bilinearly, which aliases the thin strokes of on-screen text that the detector's area averaging smooths: a model
fitted to the aliased look fires differently on the smoothed one. Training images are therefore written already
shrunk by `area_resize` to the training size, so ultralytics has nothing left to resize, and the trained weights and
the exported model, run by the detector, see the same pixels.
"""
from __future__ import annotations

import cv2
import numpy as np


def fitted_size(width: int, height: int, side: int) -> tuple[int, int, float]:
    """(width, height, scale) of an image fitted inside a side x side square, keeping its aspect ratio."""
    scale = min(side / width, side / height)
    return max(1, int(round(width * scale))), max(1, int(round(height * scale))), scale


def area_resize(image: np.ndarray, width: int, height: int) -> np.ndarray:
    """`image` (H x W x C, any channel order) resized to width x height by area averaging."""
    source_height, source_width = image.shape[:2]
    if (source_width, source_height) == (width, height):
        return image
    # Every n-th pixel first, down to about twice the target: area-averaging all of a 1080p frame
    # costs more than the rest of the letterbox and changes nothing at 320 px.
    step = max(1, min(source_width // (2 * width), source_height // (2 * height)))
    return cv2.resize(image[::step, ::step], (width, height), interpolation=cv2.INTER_AREA)
