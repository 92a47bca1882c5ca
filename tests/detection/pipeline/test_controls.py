"""Checkboxes, switches and chosen buttons read from their pixels, and the queue found by the words in its
timer's region, in every style family, the held-out ones included (their fonts and habits were never tuned on)."""
from __future__ import annotations

import random

import cv2
import numpy as np
import pytest

from detection.pipeline.controls import checkbox_ticked, highlighted_button
from detection.pipeline.probes import TextProbes
from detection.pipeline.profile import load_profile as load_pipeline_profile
from detection.pipeline.text import RapidTextReader, TextLine, normalise
from detection.pipeline.timings import StageTimings
from detection.pipeline.types import Frame
from detection.render.families import FAMILIES
from detection.render.frames import menu_frame
from detection.render.profile import load_profile
from detection.render.style import random_style

pytestmark = pytest.mark.pure
RENDER = load_profile()
READER = RapidTextReader(max_side=320)
SEEDS = range(6)


def shot(family: str, seed: int, screen: str, content: dict) -> np.ndarray:
    rng = random.Random(seed * 131 + 3)
    style = random_style(rng, family=FAMILIES[family])
    size = rng.choice([(1280, 720), (1920, 1080), (2560, 1440)])
    image, _ = menu_frame(screen, size, style, RENDER, rng, content)
    return cv2.cvtColor(np.asarray(image), cv2.COLOR_RGB2BGR)


def region(image: np.ndarray, box: tuple[float, float, float, float]) -> np.ndarray:
    h, w = image.shape[:2]
    return image[int(box[1] * h) : int(box[3] * h), int(box[0] * w) : int(box[2] * w)]


def labelled(lines: list[TextLine], word: str) -> TextLine | None:
    return next((line for line in lines if word in normalise(line.text)), None)


@pytest.mark.parametrize("family", list(FAMILIES))
def test_the_pve_control_is_read_in_every_family(family: str) -> None:
    expected, read = [], []
    for seed in SEEDS:
        pve = seed % 2 == 0
        checkbox = region(shot(family, seed, "map_select", {"map_name": "WOODS", "pve": pve}), RENDER.regions["map_select_checkbox"])
        expected.append(pve)
        read.append(checkbox_ticked(checkbox, labelled(READER.read(checkbox), "PVE")))
    assert read == expected


@pytest.mark.parametrize("family", list(FAMILIES))
def test_the_chosen_character_is_read_in_every_family(family: str) -> None:
    expected, read = [], []
    for seed in SEEDS:
        chosen = "SCAV" if seed % 2 else "PMC"
        buttons = region(shot(family, seed, "character_select", {"choice": chosen}), RENDER.regions["character_select"])
        expected.append(chosen)
        read.append(highlighted_button(buttons, READER.read(buttons), ["PMC", "SCAV"]))
    assert read == expected


@pytest.mark.parametrize("family", list(FAMILIES))
def test_the_queue_is_found_by_its_words_in_the_spec_region_before_it_is_reached(family: str) -> None:
    """The detector never saw the held-out queues (title beside the timer): the pre-raid probe reads the spec's
    region of the queue's timer, and the title's or the estimate's words there name the queue."""
    profile = load_pipeline_profile("demo")
    found = 0
    for seed in SEEDS:
        image = shot(family, seed, "queue", {"elapsed": 14 + seed, "estimate": 263})
        probes = TextProbes(profile, READER, StageTimings())
        found += [d.label for d in probes.look(Frame(image, 0, 10.0), machine_state="pre_raid", detections=[])] \
            == ["queue_timer"]
    assert found == len(SEEDS)
