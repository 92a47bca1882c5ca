"""Screen painters: one function per screen of the spec, each returning the boxes it drew.

Each painter draws onto a transparent frame-sized layer (`Painter`) and returns
`{class_name: Box}` for the detector classes it shows. The box contract is in the
package docstring (`detection/render/__init__.py`). Painters take their own `rng` so
a video can repaint a screen with new digits and keep its layout: same seed, same
positions.
"""
from __future__ import annotations

import random

from .layout import Bar, Box, Button, Check, Item, Painter, Row, Table, Text, place_block
from .profile import DemoProfile
from .style import mix

# Rows the post-raid summary's kill list shows: a raid's first kills.
LISTED_ROWS = 12

Boxes = dict[str, Box]


def mmss(seconds: float) -> str:
    seconds = max(0, int(seconds))
    return f"{seconds // 60:02d}:{seconds % 60:02d}"


def _region(p: Painter, profile: DemoProfile, name: str) -> Box:
    return Box.of_region(profile.regions[name], p.width, p.height)


def _titled(p: Painter, rng: random.Random, title: Item, key: list[Item],
            apart: tuple[float, float, float, float] | None = None) -> list[Item]:
    """The lines of a screen's block with its title where the style puts it.

    "apart" paints the title on its own in the `apart` area (fractions of the frame, outside
    the key element's region) and leaves the key element alone in its block; screens
    without such an area put the title below instead.
    """
    place = p.style.title_place
    if place == "apart" and apart is not None:
        area = Box(round(p.width * apart[0]), round(p.height * apart[1]), round(p.width * apart[2]), round(p.height * apart[3]))
        place_block(p, [title], area, rng, panel=False)
        return list(key)
    if place == "beside":
        return [Row((title, key[0]), gap_em=1.5), *key[1:]]
    if place in ("below", "apart"):
        return [*key, title]
    return [title, *key]


def _next_button(p: Painter, rng: random.Random, label: str) -> None:
    """Clutter outside every spec region: the READY/NEXT button real menus have."""
    area = Box(round(p.width * 0.78), round(p.height * 0.86), round(p.width * 0.98), round(p.height * 0.97))
    place_block(p, [Button(label, rng.random() < 0.5)], area, rng, panel=False)


def paint_stash(p: Painter, profile: DemoProfile, rng: random.Random, *, tab: int = 0) -> Boxes:
    region = _region(p, profile, "stash_screen")
    s = p.style
    inset = round(p.width * rng.choice([0.0, 0.0, rng.uniform(0.0, 0.03)]))
    top = round(p.height * rng.uniform(0.0, 0.012))
    bar_h = round(p.height * rng.uniform(0.045, 0.078 - top / p.height))
    bar = Box(inset, top, p.width - inset, top + bar_h).clip(region)
    p.draw.rectangle((bar.x0, bar.y0, bar.x1 - 1, bar.y1 - 1), fill=s.panel + (max(200, s.panel_alpha),))
    if s.border:
        p.draw.line((bar.x0, bar.y1 - 1, bar.x1, bar.y1 - 1), fill=s.accent + (255,), width=max(2, bar_h // 20))
    title = s.font("title", bar_h * 0.5 / s.scale * rng.uniform(0.85, 1.1))
    body = s.font("body", bar_h * 0.32 / s.scale * rng.uniform(0.85, 1.15))
    margin = p.width * rng.uniform(0.01, 0.04)
    after_title = p.width * rng.uniform(0.03, 0.12)
    gap = p.width * rng.uniform(0.02, 0.06)
    tabs = ("CHARACTER", "TRADERS", "FLEA MARKET")
    width = p.text_size("STASH", title)[0] + after_title + sum(p.text_size(n, body)[0] for n in tabs) + gap * (len(tabs) - 1)
    x = {"left": bar.x0 + margin, "centre": bar.x0 + (bar.w - width) / 2, "right": bar.x1 - margin - width}[s.stash_align]
    # Right-aligned headers end with their title: the tabs come first.
    order: list[str] = ["STASH", *tabs] if s.stash_align != "right" else [*tabs, "STASH"]
    for name in order:
        if name == "STASH":
            cap = p.text_size("H", title)[1]
            p.text(x, bar.y0 + (bar_h - cap) / 2, "STASH", title, s.text)
            x += p.text_size("STASH", title)[0] + after_title
            continue
        w, h = p.text_size(name, body)
        y = bar.y0 + (bar_h - h) / 2
        chosen = tabs.index(name) == tab
        p.text(x, y, name, body, s.accent if chosen else s.dim_text)
        if chosen:
            p.draw.line((x, y + h + h * 0.35, x + w, y + h + h * 0.35), fill=s.accent + (255,), width=max(2, h // 8))
        x += w + gap
    _stash_grid(p, rng, bar.y1)
    return {"stash_screen": bar}


def _stash_grid(p: Painter, rng: random.Random, top: int) -> None:
    cell = int(p.height * rng.uniform(0.035, 0.06))
    x0 = int(p.width * rng.uniform(0.02, 0.5))
    y0 = top + int(p.height * rng.uniform(0.03, 0.08))
    cols = max(4, int(p.width * rng.uniform(0.3, 0.45)) // cell)
    rows = max(4, int(p.height * 0.92 - y0) // cell)
    grid = mix((40, 40, 40), (100, 100, 100), rng.random()) + (255,)
    for c in range(cols):
        for r in range(rows):
            box = (x0 + c * cell, y0 + r * cell, x0 + (c + 1) * cell - 1, y0 + (r + 1) * cell - 1)
            p.draw.rectangle(box, fill=(20, 20, 22, 160), outline=grid)
            if rng.random() < 0.35:
                tint = mix(p.style.accent, (80, 80, 80), rng.uniform(0.4, 0.9))
                inset = 3 if cell > 8 else 1  # tiny frames (tests) have cells of a few pixels
                p.draw.rectangle((box[0] + inset, box[1] + inset, box[2] - inset, box[3] - inset), fill=tint + (255,))


def paint_character_select(p: Painter, profile: DemoProfile, rng: random.Random, *, choice: str = "PMC") -> Boxes:
    order = ("PMC", "SCAV") if rng.random() < 0.7 else ("SCAV", "PMC")
    buttons = Row(tuple(Button(name, name == choice) for name in order), gap_em=rng.uniform(0.8, 3.0))
    lines = _titled(p, rng, Text("CHOOSE YOUR CHARACTER", "title"), [buttons], apart=(0.2, 0.12, 0.8, 0.3))
    box = place_block(p, lines, _region(p, profile, "character_select"), rng, panel=rng.random() < 0.8)
    _next_button(p, rng, "NEXT")
    return {"character_select": box}


def paint_map_select(p: Painter, profile: DemoProfile, rng: random.Random, *, map_name: str, pve: bool) -> Boxes:
    header = Text("SELECT LOCATION", rng.choice(["title", "body"]), rng.choice(["text", "dim", "accent"]))
    lines = _titled(p, rng, header, [Text(map_name, "big")], apart=(0.03, 0.03, 0.5, 0.17))
    box = place_block(p, lines, _region(p, profile, "map_select"), rng, panel=rng.random() < 0.6, spread=0.3)
    place_block(p, [Check("PVE", pve)], _region(p, profile, "map_select_checkbox"), rng, panel=rng.random() < 0.4, spread=0.1)
    _map_list(p, profile, rng, map_name)
    _next_button(p, rng, "READY")
    return {"map_select": box}


def _map_list(p: Painter, profile: DemoProfile, rng: random.Random, current: str) -> None:
    """The list of locations down the left edge, outside the name region."""
    if rng.random() < 0.3:
        return
    area = Box(round(p.width * 0.02), round(p.height * 0.2), round(p.width * 0.22), round(p.height * 0.85))
    lines: list[Item] = [Text(name, "small", "accent" if name == current else "dim") for name in profile.maps]
    place_block(p, lines, area, rng, panel=False, align="left")


def paint_queue(p: Painter, profile: DemoProfile, rng: random.Random, *, elapsed: float, estimate: float) -> Boxes:
    timer: Item = Text(mmss(elapsed), "digits", rng.choice(["text", "accent"]))
    lines = _titled(p, rng, Text("SEARCHING FOR MATCH", "title"), [timer, Text(f"ESTIMATED TIME: {mmss(estimate)}", "small", "dim")],
                    apart=(0.3, 0.25, 0.7, 0.39))
    return {"queue_timer": place_block(p, lines, _region(p, profile, "queue_timer"), rng, panel=rng.random() < 0.85, spread=0.3)}


def paint_match_found(p: Painter, profile: DemoProfile, rng: random.Random, *, countdown: int) -> Boxes:
    lines = _titled(p, rng, Text("MATCH FOUND", "title", rng.choice(["accent", "text"])), [Text(f"DEPLOYING IN: {countdown}", "body")])
    return {"match_found": place_block(p, lines, _region(p, profile, "match_found"), rng, panel=rng.random() < 0.9, spread=0.3)}


def paint_loading(p: Painter, profile: DemoProfile, rng: random.Random, *, progress: float) -> Boxes:
    lines: list[Item] = [Text("LOADING LOCATION DATA...", rng.choice(["body", "small"])), Bar(progress, rng.uniform(10, 26))]
    if rng.random() < 0.5:
        lines.reverse()
    if p.style.title_place in ("beside", "apart"):
        lines = [Row((lines[0], lines[1]), gap_em=1.5)]
    return {"loading_screen": place_block(p, lines, _region(p, profile, "loading_screen"), rng, panel=rng.random() < 0.4, spread=0.2)}


def paint_hud(p: Painter, profile: DemoProfile, rng: random.Random, *, hp: int, shield: int, ammo: int, capacity: int) -> Boxes:
    region = _region(p, profile, "gameplay_hud")
    left_area = Box(region.x0 + round(p.width * rng.uniform(0.0, 0.03)), region.y0, region.x0 + round(p.width * 0.4), region.y1)
    right_area = Box(region.x0 + round(p.width * 0.6), region.y0, region.x1 - round(p.width * rng.uniform(0.0, 0.03)), region.y1)
    panel = rng.random() < 0.5
    vitals: list[Item] = [Text(f"HP {hp}%", "body"), Text(f"SHIELD {shield}%", "body", rng.choice(["text", "dim", "accent"]))]
    ammo_lines: list[Item] = [Text(f"{ammo}/{capacity}", "digits")]
    if p.style.hud == "bars":  # a bar beside each vital, the magazine as a bar under the count
        vitals = [Row((text, Bar(value / 100, 5.0)), gap_em=0.6) for text, value in zip(vitals, (hp, shield))]
        ammo_lines.append(Bar(ammo / max(1, capacity), 4.0))
    elif p.style.hud == "stacked":  # shield over health, a compass strip between the groups
        vitals.reverse()
        _compass(p, rng, region)
    elif rng.random() < 0.35:
        vitals = [Row(tuple(vitals), gap_em=rng.uniform(1.0, 2.5))]
    left = place_block(p, vitals, left_area, rng, panel=panel, align="left", spread=0.05)
    right = place_block(p, ammo_lines, right_area, rng, panel=panel, align="right", spread=0.05)
    return {"gameplay_hud": left.union(right)}


def _compass(p: Painter, rng: random.Random, region: Box) -> None:
    """A compass tape in the middle of the HUD strip: ticks and a heading marker, no words."""
    x0, x1 = p.width * rng.uniform(0.4, 0.44), p.width * rng.uniform(0.56, 0.6)
    y = region.y0 + region.h * rng.uniform(0.45, 0.75)
    step = (x1 - x0) / 24
    ink = p.style.dim_text + (200,)
    for i in range(25):
        tall = p.height * (0.012 if i % 6 == 0 else 0.006)
        p.draw.line((x0 + i * step, y - tall, x0 + i * step, y), fill=ink, width=max(1, p.height // 540))
    mid = (x0 + x1) / 2
    p.draw.polygon([(mid - step / 2, y + step), (mid + step / 2, y + step), (mid, y + 2)], fill=p.style.accent + (255,))


def paint_kill(p: Painter, profile: DemoProfile, rng: random.Random, *, enemy: str, weapon: str, headshot: bool) -> Boxes:
    gap = rng.uniform(1.0, 2.0)
    victim: list[Item] = [Text(enemy, "body"), Text(weapon, "body", rng.choice(["text", "dim"]))]
    lines: list[Item] = [Text("ELIMINATED", rng.choice(["title", "body"]), rng.choice(["accent", "text", "outcome1"]))]
    tag: Item = Button("HEADSHOT", True) if rng.random() < 0.5 else Text("HEADSHOT", "small", "accent")
    if headshot and rng.random() < 0.5:
        lines.append(Row((*victim, tag), gap_em=gap))
    else:
        lines.append(Row(tuple(victim), gap_em=gap))
        if headshot:
            lines.append(tag)
    align = "right" if rng.random() < 0.6 else rng.choice(["left", "center"])
    return {"kill_notification": place_block(p, lines, _region(p, profile, "kill_notification"), rng,
                                             panel=rng.random() < 0.85, align=align, spread=0.15)}


def paint_survived(p: Painter, profile: DemoProfile, rng: random.Random, *, extract: str, time_in_raid: float) -> Boxes:
    lines = _titled(p, rng, Text("SURVIVED", "big", "outcome0"), [Text(f"EXFILTRATED AT: {extract}", "body"),
                                                                     Text(f"TIME IN RAID: {mmss(time_in_raid)}", "body", "dim")])
    return {"survived_screen": place_block(p, lines, _region(p, profile, "survived_screen"), rng, spread=0.4)}


def paint_death(p: Painter, profile: DemoProfile, rng: random.Random, *, killed_by: str) -> Boxes:
    lines = _titled(p, rng, Text("KILLED IN ACTION", "big", "outcome1"), [Text(f"KILLED BY: {killed_by}", "body")])
    return {"death_screen": place_block(p, lines, _region(p, profile, "death_screen"), rng, spread=0.4)}


def paint_mia(p: Painter, profile: DemoProfile, rng: random.Random) -> Boxes:
    lines = _titled(p, rng, Text("MISSING IN ACTION", "big", "outcome2"), [Text("FAILED TO EXTRACT IN TIME", "body")])
    return {"mia_screen": place_block(p, lines, _region(p, profile, "mia_screen"), rng, spread=0.4)}


def paint_post_raid(p: Painter, profile: DemoProfile, rng: random.Random, *, kills: list[tuple[str, str, bool]]) -> Boxes:
    rows = tuple((enemy, weapon, "HEADSHOT") if headshot else (enemy, weapon)
                 for enemy, weapon, headshot in kills[:LISTED_ROWS])
    body: list[Item] = [Text("KILL LIST", "body", "accent")]
    if rows:
        body.append(Table(rows, gap_em=rng.uniform(1.0, 3.0)))
    lines = _titled(p, rng, Text("RAID SUMMARY", "title"), body)
    region = _region(p, profile, "post_raid_screen")
    return {"post_raid_screen": place_block(p, lines, region, rng, align=rng.choice(["left", "center"]), spread=0.9)}
