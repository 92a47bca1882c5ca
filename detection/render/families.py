"""Style families: whole looks of the game's UI, as data, some held out of training.

The spec (../shared/spec/demo-game.md) fixes the words, the regions of the key elements
and the flow; everything else is a family's habit: its fonts, its palette, where a
screen's title sits beside its key element, how the STASH header is aligned, how the
PVE checkbox and the chosen character button are drawn, what lies behind the menus and
how the HUD is arranged inside its strip. `random_style` draws one look from a family.

Held-out families exist only to measure detection on footage unlike anything the model
was trained on: `make_dataset` draws from `TRAINING_FAMILIES` alone, and no training
family may use a held-out family's fonts (fonts of held-out families live under
`detection/fonts/heldout/`). A held-out family is held out as a look: its fonts with its
habits. A habit alone is not: the spec leaves every habit free, so a game may show any
of them, and the `mixed` training family draws them all in the training fonts. Each tuple below is the set a style picks from; a
one-element tuple costs no random draw, so the "classic" look renders exactly as it did
before families existed.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

FONT_DIR = Path(__file__).resolve().parent.parent / "fonts"
HELD_OUT_FONT_DIR = "heldout"

# The fonts the bundled model was trained on: every font file directly in detection/fonts/.
CLASSIC_FONTS = tuple(sorted(p.name for p in FONT_DIR.glob("*.ttf")))


@dataclass(frozen=True)
class Family:
    name: str
    held_out: bool
    title_fonts: tuple[str, ...]  # bold faces: titles, digits and (often) body text
    body_fonts: tuple[str, ...]  # faces that may set body text (the title faces and lighter ones)
    palettes: tuple[str, ...]  # "vivid" | "muted"
    title_places: tuple[str, ...]  # a title "above" / "below" / "beside" its key element, or "apart" from it
    stash_aligns: tuple[str, ...]  # the STASH header group: "left" | "centre" | "right"
    checkboxes: tuple[str, ...]  # "tick" | "cross" | "fill" | "toggle"
    highlights: tuple[str, ...]  # the chosen button: "fill" | "outline" | "bright"
    backdrops: tuple[str, ...]  # menu backgrounds: "plain" | "busy"
    huds: tuple[str, ...]  # "split" | "bars" | "stacked"

    @property
    def fonts(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys((*self.title_fonts, *self.body_fonts)))


CLASSIC = Family(
    name="classic", held_out=False,
    title_fonts=tuple(name for name in CLASSIC_FONTS if "Regular" not in name),  # regular weights read poorly small
    body_fonts=CLASSIC_FONTS, palettes=("vivid",), title_places=("above",), stash_aligns=("left",),
    checkboxes=("tick",), highlights=("fill",), backdrops=("plain",), huds=("split",),
)
# Training, widened: the classic fonts with more of the freedom the spec leaves, none of the habits
# first drawn for the held-out families (titles beside or apart from their key element, a
# right-aligned STASH header, toggles, brightness highlights, the stacked HUD; `mixed` draws those).
VARIED = Family(
    name="varied", held_out=False, title_fonts=CLASSIC.title_fonts, body_fonts=CLASSIC_FONTS,
    palettes=("vivid", "muted"), title_places=("above", "below"), stash_aligns=("left", "centre"),
    checkboxes=("tick", "cross", "fill"), highlights=("fill", "outline"), backdrops=("plain", "busy"),
    huds=("split", "bars"),
)
# Training, widest: every habit the spec leaves free, the held-out families' included, each drawn
# on its own, in the classic fonts: a held-out family's look (its fonts with its habits) is never drawn.
MIXED = Family(
    name="mixed", held_out=False, title_fonts=CLASSIC.title_fonts, body_fonts=CLASSIC_FONTS,
    palettes=("vivid", "muted"), title_places=("above", "below", "beside", "apart"),
    stash_aligns=("left", "centre", "right"), checkboxes=("tick", "cross", "fill", "toggle"),
    highlights=("fill", "outline", "bright"), backdrops=("plain", "busy"), huds=("split", "bars", "stacked"),
)
# Held out: humanist and condensed sans faces, grey-green muted colours, busy backgrounds.
MUTED = Family(
    name="muted", held_out=True,
    title_fonts=("heldout/Lato-Bold.ttf", "heldout/Cantarell-Bold.otf", "heldout/OpenSans-CondBold.ttf",
                 "heldout/OpenSans-Semibold.ttf"),
    body_fonts=("heldout/Lato-Bold.ttf", "heldout/Lato-Regular.ttf", "heldout/Cantarell-Bold.otf",
                "heldout/OpenSans-CondBold.ttf", "heldout/OpenSans-Semibold.ttf"),
    palettes=("muted",), title_places=("below", "beside", "apart"),
    stash_aligns=("right", "centre"), checkboxes=("toggle", "fill"), highlights=("outline", "bright"),
    backdrops=("busy",), huds=("bars", "stacked"),
)
# Held out: serif, geometric and monospace faces, the vivid palette, titles apart or below.
SERIF = Family(
    name="serif", held_out=True,
    title_fonts=("heldout/NimbusRoman-Bold.otf", "heldout/P052-Bold.otf", "heldout/URWGothic-Demi.otf",
                 "heldout/NimbusSansNarrow-Bold.otf", "heldout/NimbusMonoPS-Bold.otf"),
    body_fonts=("heldout/NimbusRoman-Bold.otf", "heldout/P052-Bold.otf", "heldout/URWGothic-Demi.otf",
                "heldout/NimbusSansNarrow-Bold.otf"),
    palettes=("vivid",), title_places=("apart", "below"), stash_aligns=("centre", "right"),
    checkboxes=("cross", "fill"), highlights=("bright", "outline"), backdrops=("busy", "plain"),
    huds=("stacked", "bars"),
)

FAMILIES: dict[str, Family] = {family.name: family for family in (CLASSIC, VARIED, MIXED, MUTED, SERIF)}
TRAINING_FAMILIES: tuple[Family, ...] = tuple(f for f in FAMILIES.values() if not f.held_out)
HELD_OUT_FAMILIES: tuple[Family, ...] = tuple(f for f in FAMILIES.values() if f.held_out)
DEFAULT_FAMILY = CLASSIC.name


def family_named(name: str) -> Family:
    try:
        return FAMILIES[name]
    except KeyError:
        raise ValueError(f"unknown style family {name!r}: one of {', '.join(FAMILIES)}") from None


def held_out_fonts() -> frozenset[str]:
    return frozenset(font for family in HELD_OUT_FAMILIES for font in family.fonts)
