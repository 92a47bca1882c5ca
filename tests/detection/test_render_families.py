"""Style families: held-out looks follow the spec's regions, and never reach a training dataset."""
from __future__ import annotations

import random
from pathlib import Path

import pytest
from PIL import ImageFont

from detection.render import style as style_module
from detection.render.dataset import make_dataset
from detection.render.families import (
    CLASSIC,
    FAMILIES,
    FONT_DIR,
    HELD_OUT_FAMILIES,
    TRAINING_FAMILIES,
    family_named,
    held_out_fonts,
)
from detection.render.frames import MENU_SCREENS, menu_frame, raid_frame, random_kill
from detection.render.layout import Box
from detection.render.profile import load_profile
from detection.render.style import random_style

pytestmark = pytest.mark.pure


def _inside(box: Box, region: tuple[float, float, float, float], width: int, height: int) -> bool:
    x0, y0, x1, y1 = region
    return (box.x0 >= x0 * width - 1 and box.y0 >= y0 * height - 1 and box.x1 <= x1 * width + 1
            and box.y1 <= y1 * height + 1 and box.w > 4 and box.h > 4)


def test_families_split_into_training_and_held_out_with_disjoint_fonts() -> None:
    assert CLASSIC in TRAINING_FAMILIES and len(HELD_OUT_FAMILIES) >= 2
    assert not any(f.held_out for f in TRAINING_FAMILIES) and all(f.held_out for f in HELD_OUT_FAMILIES)
    training_fonts = {font for family in TRAINING_FAMILIES for font in family.fonts}
    assert training_fonts and not training_fonts & held_out_fonts()
    for font in held_out_fonts():
        assert font.startswith("heldout/") and (FONT_DIR / font).is_file()
        assert isinstance(ImageFont.truetype(str(FONT_DIR / font), 20), ImageFont.FreeTypeFont)
    with pytest.raises(ValueError, match="unknown style family"):
        family_named("nope")


@pytest.mark.parametrize("name", [f.name for f in HELD_OUT_FAMILIES])
def test_a_held_out_style_uses_its_family_fonts_and_habits(name: str) -> None:
    family = FAMILIES[name]
    looks = [random_style(random.Random(seed), family=family) for seed in range(40)]
    assert {s.family for s in looks} == {name}
    assert {s.title_font for s in looks} <= set(family.title_fonts) and {s.body_font for s in looks} <= set(family.fonts)
    # Each habit takes more than the classic value: the held-out look differs where the spec is free.
    for habit, options in (("title_place", family.title_places), ("checkbox", family.checkboxes),
                           ("highlight", family.highlights), ("hud", family.huds), ("stash_align", family.stash_aligns)):
        seen = {getattr(s, habit) for s in looks}
        assert seen == set(options) and seen != {getattr(random_style(random.Random(0)), habit)}, habit


@pytest.mark.parametrize("name", [name for name in FAMILIES if name != CLASSIC.name])
def test_key_elements_of_every_new_family_lie_in_their_spec_regions(name: str) -> None:
    profile = load_profile()
    rng = random.Random(7)
    for size in ((1280, 720), (1920, 1080)):
        for _ in range(3):
            style = random_style(rng, family=FAMILIES[name])
            for screen in MENU_SCREENS:
                _, boxes = menu_frame(screen, size, style, profile, rng)
                for cls, box in boxes.items():
                    assert _inside(box, profile.regions[cls], *size), (style, screen, box)
            _, boxes = raid_frame(size, style, profile, rng, kill=random_kill(profile, rng))
            for cls, box in boxes.items():
                assert _inside(box, profile.regions[cls], *size), (style, cls, box)


def test_datasets_never_draw_a_held_out_family_or_font(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    fonts: set[str] = set()
    families: set[str] = set()
    load_font, draw_style = style_module.load_font, style_module.random_style

    def recording_font(name: str, size: int) -> ImageFont.FreeTypeFont:
        fonts.add(name)
        return load_font(name, size)

    def recording_style(*args: object, **kwargs: object) -> style_module.Style:
        drawn = draw_style(*args, **kwargs)  # type: ignore[arg-type]
        families.add(drawn.family)
        return drawn

    monkeypatch.setattr(style_module, "load_font", recording_font)
    monkeypatch.setattr("detection.render.dataset.random_style", recording_style)
    make_dataset(tmp_path, images=40, seed=3)
    assert families == {f.name for f in TRAINING_FAMILIES}
    assert fonts and not fonts & held_out_fonts() and not any(name.startswith("heldout/") for name in fonts)
