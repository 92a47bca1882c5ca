"""`render_session`: one demo recording (MKV) and its `.truth.json`, from a seed. No Django needed."""
from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from detection.pipeline.event_log import format_timestamp, write_event_log

from .blanking import blanked_spans, choose_blanks, choose_hidden_kills, hidden_kill_spans
from .compositor import Compositor, Look
from .families import DEFAULT_FAMILY, family_named
from .profile import load_profile
from .style import random_style
from .timeline import DEMO_PACING, Pacing, plan_session
from .truth import truth_log
from .writer import frame_times, open_sink


@dataclass(frozen=True)
class RenderResult:
    video: Path
    truth: Path
    frames: int
    duration: float
    wall_seconds: float

    @property
    def speed(self) -> float:
        """Video seconds rendered per wall-clock second."""
        return self.duration / max(1e-9, self.wall_seconds)


def render_session(
    *, out_dir: str | Path, seconds: float, fps: int = 30, size: tuple[int, int] = (1920, 1080), seed: int = 0,
    started_at: datetime | None = None, vfr: bool = False, name: str | None = None, pacing: Pacing = DEMO_PACING,
    crf: int | None = None, preset: str = "ultrafast", progress: Callable[[int, int], None] | None = None,
    style_family: str = DEFAULT_FAMILY, blank_screens: int = 0, blank_stretch: int = 0, keyint: int | None = None,
    hide_kills: int = 0,
) -> RenderResult:
    """Render `seconds` of sessions. Everything random (timeline, UI style, grain, camera, H.264 quality) follows `seed`.

    `style_family` names the look (families.py). `blank_screens` hides that many single screens
    and `blank_stretch` a run of that many screens after a raid (blanking.py); the rest of the
    render, truth included, is the same as without them. `hide_kills` leaves that many kill notifications
    undrawn, each of a raid whose summary (and its kill list) is shown. `keyint` caps the frames between keyframes
    (default two seconds' worth; OBS with its interval on auto writes 250, about 8 s at 30 fps).
    """
    family = family_named(style_family)
    width, height = size
    if seconds < 1:
        raise ValueError(f"{seconds} s is too short to render: at least one second")
    if width % 2 or height % 2 or width < 320 or height < 180:
        raise ValueError(f"resolution {width}x{height}: needs even sides of at least 320x180")
    if keyint is not None and keyint < 1:
        raise ValueError(f"keyframes {keyint} frames apart: needs at least 1")
    started_at = started_at or datetime.now(timezone.utc).replace(microsecond=0)
    rng = random.Random(seed)
    profile = load_profile()
    timeline = plan_session(seconds, profile, random.Random(rng.getrandbits(64)), pacing)
    style = random_style(random.Random(rng.getrandbits(64)), family=family)
    look = Look.random(random.Random(rng.getrandbits(64)))
    crf = crf if crf is not None else rng.randint(18, 28)
    timeline.blanked = choose_blanks(timeline, screens=blank_screens, stretch=blank_stretch, rng=random.Random(f"{seed}:blank"))
    timeline.hidden_kills = choose_hidden_kills(timeline, count=hide_kills, rng=random.Random(f"{seed}:hide"))
    times = frame_times(seconds, fps, vfr=vfr, rng=random.Random(rng.getrandbits(64)))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    name = name or started_at.astimezone(timezone.utc).strftime("%Y-%m-%d %H-%M-%S")  # OBS's file naming
    video, truth = out / f"{name}.mkv", out / f"{name}.truth.json"
    compositor = Compositor(timeline, size, style, profile, seed=seed, look=look)
    began = time.monotonic()
    keyint = keyint or fps * 2
    sink = open_sink(video, vfr=vfr, size=size, fps=fps, started_at=started_at, crf=crf, preset=preset, keyint=keyint)
    try:
        for i, t in enumerate(times):
            sink.write(compositor.frame(t), t)
            if progress and (i + 1) % (fps * 10) == 0:
                progress(i + 1, len(times))
    finally:
        sink.close()
    wall = time.monotonic() - began
    metadata: dict[str, Any] = {
        "source": "render_demo", "profile": profile.name, "video": video.name, "started_at": format_timestamp(started_at),
        "fps": fps, "vfr": vfr, "resolution": f"{width}x{height}", "width": width, "height": height, "seed": seed,
        "duration_seconds": seconds, "crf": crf, "keyint": keyint,
        "style": {"family": style.family, "title_font": style.title_font, "body_font": style.body_font,
                  "digit_font": style.digit_font},
    }
    if timeline.blanked:
        metadata["blanked"] = blanked_spans(timeline)
    if timeline.hidden_kills:
        metadata["hidden_kills"] = hidden_kill_spans(timeline)
    write_event_log(truth_log(timeline, times, started_at=started_at, metadata=metadata), truth)
    return RenderResult(video=video, truth=truth, frames=len(times), duration=seconds, wall_seconds=wall)

