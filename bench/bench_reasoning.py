"""Session reasoning over a three-hour session: chunking, request sizes against the budget, time, the cache.

Run: .venv/bin/python bench/bench_reasoning.py [--raids 16] [--delay 1.5] [--context 4096 8192]
Embedded (SQLite in a temporary VODSCOPE_HOME) unless DATABASE_URL is set. The session is made up in the
database: `--raids` raids of ten minutes, each with 8 kills and one labelled window every 2 s (300 per raid,
4,800 for 16 raids), as a VLM run over three hours would leave. The server is tests/labeling/fake_vlm.py
answering each request after `--delay` seconds with a summary of realistic length (about 700 bytes).

Prints per context budget: chunk levels, requests, the largest prompt (estimated tokens) against what the
budget leaves for it, wall time and Vodscope's own share (building facts and storing rows), then a second run
that must make 0 requests.
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
os.environ.setdefault("VODSCOPE_HOME", tempfile.mkdtemp(prefix="vodscope-bench-"))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "project.settings")

import django  # noqa: E402

django.setup()

from django.contrib.auth import get_user_model  # noqa: E402
from django.core.management import call_command  # noqa: E402

from detection.models import DetectedEvent, Recording  # noqa: E402
from labeling.analyst import Limits  # noqa: E402
from labeling.backends.base import BackendConfig  # noqa: E402
from labeling.reasoning.facts import raid_facts, raids_found  # noqa: E402
from labeling.reasoning.summarize import ReasoningOptions, session_summarize  # noqa: E402
from labeling.services.vlm_label import DbCache  # noqa: E402
from labeling.vlm_models import WindowLabel  # noqa: E402
from tests.labeling.fake_vlm import FakeVlm, Reply, Seen  # noqa: E402

logging.getLogger("httpx").setLevel(logging.WARNING)
logging.getLogger("httpx2").setLevel(logging.WARNING)

TACTICS = ("looting", "traversing", "kiting", "holding_angle", "aggressive_push", "healing")
SUMMARY = {
    "title": "Customs: loot run with two fights",
    "summary": ("The player spawned near the old gas station, looted the dorms' filing cabinets, kited two scavs "
                "around the garages and dropped both with headshots, healed behind the fence at half health, then "
                "pushed a PMC at the crossroads before extracting with 60 % health and a full shield. ") * 2,
    "highlights": ["4:10 headshot on a scav (AKM)", "4:35 second scav down", "12:50 healed from 45 %",
                   "16:20 PMC pushed at crossroads", "19:40 extracted at Crossroads"],
}


def session(raids: int) -> Recording:
    owner, _ = get_user_model().objects.get_or_create(username="bench")
    recording = Recording.objects.create(owner=owner, title="bench-3h.mkv", source_path="/bench/3h.mkv",
                                         fingerprint=f"{time.time_ns():064x}"[:64], duration_seconds=raids * 690.0)
    events: list[DetectedEvent] = []
    labels: list[WindowLabel] = []
    for i in range(raids):
        start = 60.0 + i * 690.0
        events.append(DetectedEvent(recording=recording, event_id=f"s{i}", event_type="raid_start",
                                    video_offset_seconds=start,
                                    data={"map_name": "customs", "character_type": "pmc", "game_mode": "pve"}))
        events += [DetectedEvent(recording=recording, event_id=f"k{i}-{k}", event_type="kill",
                                 video_offset_seconds=start + 60 + 60 * k,
                                 data={"enemy_type": "scav", "weapon": "AKM", "headshot": k % 3 == 0})
                   for k in range(8)]
        events.append(DetectedEvent(recording=recording, event_id=f"e{i}", event_type="raid_end",
                                    video_offset_seconds=start + 600,
                                    data={"outcome": "survived", "extract_location": "crossroads"}))
        labels += [WindowLabel(recording=recording, video_path="/bench/3h.mkv", prompt_version="tactical_v1",
                               spec="5x2/2", window_index=i * 300 + w, start=start + 2 * w, end=start + 2 * w + 2,
                               status="labelled", source="vlm",
                               label={"health": 100 - (w % 60), "shield": 50, "tactic": TACTICS[(w // 20) % 6],
                                      "intent_matches": "true", "rationale": "", "confidence": 0.8})
                   for w in range(300)]
    DetectedEvent.objects.bulk_create(events)
    WindowLabel.objects.bulk_create(labels, batch_size=1000)
    return recording


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--raids", type=int, default=16)
    parser.add_argument("--delay", type=float, default=1.5)
    parser.add_argument("--context", type=int, nargs="+", default=[4096, 8192])
    args = parser.parse_args()
    call_command("migrate", verbosity=0)
    recording = session(args.raids)
    started = time.perf_counter()
    facts = raid_facts(raids_found(recording=recording), recording=recording)
    facts_ms = (time.perf_counter() - started) * 1000
    sizes = [len(json.dumps(f, sort_keys=True)) for f in facts]
    print(f"{args.raids} raids, {WindowLabel.objects.filter(recording=recording).count()} window labels; facts built "
          f"in {facts_ms:.0f} ms; facts per raid {min(sizes)}-{max(sizes)} bytes")

    def reply(n: int, seen: Seen) -> Reply:
        return Reply(text=json.dumps(SUMMARY))

    with FakeVlm(delay=args.delay, reply=reply) as server:
        for context in args.context:
            options = ReasoningOptions(backend=BackendConfig(type_key="openai", model=f"bench-{context}",
                                                             base_url=server.url + "/v1", api_key="k"),
                                       context_tokens=context, limits=Limits(concurrency=8))
            for run in ("first", "again"):
                before = len(server.seen)
                started = time.perf_counter()
                result = session_summarize(recording=recording, options=options, cache=DbCache())
                wall = time.perf_counter() - started
                sent = len(server.seen) - before
                budget = context - options.answer_tokens
                print(f"context {context} ({run}): levels {result.levels}, {sent} requests "
                      f"({result.cached} from the cache), largest prompt ~{result.largest_request_tokens} of "
                      f"{budget} tokens, {wall:.1f} s wall; session {result.session}"
                      f"{' ' + result.session_error if result.session_error else ''}")
                if run == "again" and sent:
                    raise SystemExit(f"the rerun made {sent} requests; the cache should have answered all")


if __name__ == "__main__":
    main()
