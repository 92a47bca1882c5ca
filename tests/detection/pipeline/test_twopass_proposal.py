"""The proposal rules on synthetic keyframe observations and packet sizes (no video, no model)."""
from __future__ import annotations

import pytest

from detection.pipeline.proposal import (
    Activity, Keyframe, Packet, Span, SpanRules, list_candidates, news_from, raids_without_list, same_screen,
    spans_from, worth_reading,
)
from detection.pipeline.twopass import SpanSource, stretches
from detection.pipeline.types import Frame
from tests.detection.pipeline.synthetic import PROFILE

pytestmark = pytest.mark.pure

RULES = SpanRules(settle=1.0, margin=0.5, glance=0.0)  # glances: their own test
HUD = frozenset({"gameplay_hud"})


def packets(duration: float, *, keyframes_every: float, bursts: dict[float, int] = {}, fps: int = 10) -> Activity:
    """A still scene: keyframes of 20,000 bytes, other frames of 100, and a frame of `bursts[t]` bytes at t."""
    found = []
    for n in range(int(duration * fps)):
        t = n / fps
        key = abs(t / keyframes_every - round(t / keyframes_every)) < 1e-9
        size = 20_000 if key else next((b for at, b in bursts.items() if abs(at - t) < 1e-9), 100)
        found.append(Packet(t, size, key))
    return Activity(found)


def raid_keyframes(*times: float, **changes: Keyframe) -> list[Keyframe]:
    return [changes.get(f"k{int(t)}", Keyframe(t, "gameplay_hud", False)) for t in times]


def test_an_unsure_keyframe_whose_words_match_its_neighbour_proposes_nothing() -> None:
    # A held-out HUD scored 0.3 as a queue screen: its words (SHIELD in the HUD strip) are the raid's.
    unsure = Keyframe(8.0, "queue_timer", False, sure=False, words=HUD)
    # The pass reads the words of both sides of every pair it cannot tell apart by the detector.
    keys = [Keyframe(0.0, "gameplay_hud", False, words=HUD), unsure, Keyframe(16.0, "gameplay_hud", False, words=HUD)]
    assert same_screen(keys[0], unsure) and same_screen(unsure, keys[2])
    spans = spans_from(keys, profile=PROFILE, duration=24.0, activity=packets(24.0, keyframes_every=8.0), rules=RULES)
    assert spans == [Span(0.0, 1.0)]  # the start; no change, no burst, no kill: nothing else


def test_an_unsure_keyframe_whose_words_differ_proposes_a_span_at_the_cut() -> None:
    survived = Keyframe(8.0, "queue_timer", False, sure=False, words=frozenset({"survived_screen"}))
    keys = [Keyframe(0.0, "gameplay_hud", False, words=HUD), survived]
    activity = packets(16.0, keyframes_every=8.0, bursts={5.3: 15_000})  # the cut to the end screen
    spans = spans_from(keys, profile=PROFILE, duration=16.0, activity=activity, rules=RULES)
    assert spans == [Span(0.0, 1.0), Span(4.8, 6.3), Span(8.0, 9.0)]


def test_an_unsure_keyframe_that_did_not_move_is_its_neighbours_screen() -> None:
    still = Keyframe(8.0, None, False, sure=False, moved=False)
    assert same_screen(Keyframe(0.0, "loading_screen", False), still)
    assert not same_screen(Keyframe(0.0, "loading_screen", False), Keyframe(8.0, None, False, sure=False))


def test_unreadable_words_on_a_moved_unsure_keyframe_count_as_a_change() -> None:
    sure = Keyframe(0.0, "queue_timer", False, words=frozenset())
    assert not same_screen(sure, Keyframe(8.0, "match_found", False, sure=False, words=frozenset()))
    unsure = Keyframe(0.0, "queue_timer", False, sure=False, words=frozenset())
    assert not same_screen(unsure, Keyframe(8.0, "queue_timer", False, sure=False, words=frozenset()))


def test_an_unsure_keyframe_naming_its_sure_neighbours_screen_is_not_taken_at_its_word() -> None:
    # A held-out post-raid summary scored 0.40 as a stash; the stash itself, next, scored 0.63.
    summary = Keyframe(224.0, "stash_screen", False, sure=False)
    stash = Keyframe(232.0, "stash_screen", False)
    assert not same_screen(summary, stash)
    spans = spans_from([summary, stash], profile=PROFILE, duration=240.0,
                       activity=packets(240.0, keyframes_every=8.0, bursts={229.3: 15_000}), rules=RULES)
    assert spans[1:] == [Span(228.8, 230.3), Span(232.0, 233.0)]  # the cut by its burst, and the keyframe
    # Its words, or regions that did not move, still tell it is the same screen.
    assert same_screen(Keyframe(224.0, "stash_screen", False, sure=False, words=frozenset({"stash_screen"})),
                       Keyframe(232.0, "stash_screen", False, words=frozenset({"stash_screen"})))
    assert same_screen(summary, Keyframe(232.0, "stash_screen", False, moved=False))


def test_a_kill_between_sparse_keyframes_is_caught_by_its_burst() -> None:
    # Keyframes 8 s apart, all on the HUD; a notification shows from 11.2 s to 14 s, seen by no keyframe.
    keys = raid_keyframes(0.0, 8.0, 16.0, 24.0)
    activity = packets(32.0, keyframes_every=8.0, bursts={11.2: 4_000, 14.0: 3_000})
    spans = spans_from(keys, profile=PROFILE, duration=32.0, activity=activity, rules=RULES)
    assert spans == [Span(0.0, 1.0), Span(10.7, 12.2), Span(13.5, 15.0)]
    assert any(span.start < 11.2 and span.end > 11.2 + 0.3 for span in spans)  # appearance and confirmation


def test_small_frames_of_a_moving_scene_are_no_bursts() -> None:
    # Every frame of 1,500 to 2,500 bytes (up to 12 % of a keyframe): motion, not new content.
    keys = raid_keyframes(0.0, 8.0)
    moving = {n / 10: 1_500 + 1_000 * (n % 2) for n in range(1, 160) if n % 80}
    activity = packets(16.0, keyframes_every=8.0, bursts=moving)
    assert spans_from(keys, profile=PROFILE, duration=16.0, activity=activity, rules=RULES) == [Span(0.0, 1.0)]


def test_each_raid_keyframe_is_glanced_at_so_the_raid_is_seen_to_go_on() -> None:
    # Raid keyframes 8 s apart with nothing between them, then the summary: each raid keyframe gets a glance
    # (the run sees the raid's screen there), the menus none.
    keys = raid_keyframes(0.0, 8.0, 16.0, 24.0, k24=Keyframe(24.0, "post_raid_screen", False))
    activity = packets(32.0, keyframes_every=8.0)
    spans = spans_from(keys, profile=PROFILE, duration=32.0, activity=activity, rules=SpanRules(settle=1.0, glance=0.2))
    assert spans == [Span(0.0, 1.0), Span(8.0, 8.2), Span(16.0, 16.2), Span(24.0, 25.0)]


def test_a_raid_cut_to_a_screen_nothing_names_is_decoded_whole_to_see_where_the_raid_ends() -> None:
    # The raid's end screens are hidden behind a frozen frame from 10.1 s on: no burst marks the cut,
    # and the keyframe at 16 s shows nothing the detector or the words name.
    keys = raid_keyframes(0.0, 8.0, 16.0, k16=Keyframe(16.0, None, False, sure=False, words=frozenset()))
    activity = packets(24.0, keyframes_every=8.0)
    spans = spans_from(keys, profile=PROFILE, duration=24.0, activity=activity, rules=RULES)
    assert Span(8.0, 17.0) in spans
    # A raid scene the model cannot name at all pays nothing more: its keyframes name nothing on either side.
    unnamed = [Keyframe(t, None, False, sure=False, moved=False) for t in (0.0, 8.0, 16.0)]
    assert spans_from(unnamed, profile=PROFILE, duration=24.0, activity=activity, rules=RULES) == [Span(0.0, 1.0)]


def test_a_raid_whose_kill_list_no_keyframe_shows_is_decoded_whole() -> None:
    # Raid 1 (0-16 s) ends, its summary blanked: the stash follows, then raid 2 (40-56 s) and its summary.
    # A notification at 5.2 s too faint to be a burst could only come back through raid 1's list.
    def session(summary_1: Keyframe) -> list[Keyframe]:
        return [*raid_keyframes(0.0, 8.0, 16.0), Keyframe(24.0, "survived_screen", False), summary_1,
                Keyframe(32.0, "stash_screen", False), *raid_keyframes(40.0, 48.0, 56.0),
                Keyframe(64.0, "post_raid_screen", False)]

    activity = packets(72.0, keyframes_every=8.0, bursts={5.2: 200})
    blanked = session(Keyframe(28.0, None, False, sure=False, words=frozenset()))
    assert raids_without_list(blanked, PROFILE) == [(0.0, 24.0)]
    assert Span(0.0, 25.0) in spans_from(blanked, profile=PROFILE, duration=72.0, activity=activity, rules=RULES)
    # Its summary read by its words, or surely detected: nothing more to decode.
    for shown in (Keyframe(28.0, None, False, sure=False, words=frozenset({"post_raid_screen"})),
                  Keyframe(28.0, "post_raid_screen", False)):
        assert raids_without_list(session(shown), PROFILE) == []
    # An unsure guess at a list is no list; an unsure guess at a menu ends no raid.
    guessed = session(Keyframe(28.0, "post_raid_screen", False, sure=False))
    assert raids_without_list(guessed, PROFILE) == [(0.0, 24.0)]
    unsure_menu = [*raid_keyframes(0.0, 8.0), Keyframe(16.0, "stash_screen", False, sure=False),
                   *raid_keyframes(24.0, 32.0), Keyframe(40.0, "post_raid_screen", False)]
    assert raids_without_list(unsure_menu, PROFILE) == []
    # The stash shows after the raid, its end screen and its list hidden: the list was missed.
    no_end = [*blanked[:3], Keyframe(24.0, None, False, sure=False), Keyframe(32.0, "stash_screen", False)]
    assert raids_without_list(no_end, PROFILE) == [(0.0, 24.0)]
    # A list after a screen past it outweighs that screen (a survived screen the model was sure was a queue).
    misnamed = session(Keyframe(28.0, "post_raid_screen", False))
    misnamed[3] = Keyframe(24.0, "queue_timer", False)
    assert raids_without_list(misnamed, PROFILE) == []
    # The raid goes on where an unsure detection still calls it so: decoded up to the keyframe after that.
    unsure_hud = [*blanked[:3], Keyframe(20.0, "gameplay_hud", False, sure=False), *blanked[3:]]
    assert raids_without_list(unsure_hud, PROFILE) == [(0.0, 24.0)]
    assert raids_without_list([*blanked[:2], *unsure_hud[3:]], PROFILE) == [(0.0, 24.0)]
    # A video that ends in the raid or at its end screen lists nothing yet.
    assert raids_without_list(raid_keyframes(0.0, 8.0, 16.0), PROFILE) == []
    assert raids_without_list(blanked[:5], PROFILE) == []


def test_the_words_read_for_a_missing_list_are_those_of_keyframes_between_the_raid_and_the_screen_past_it() -> None:
    # The raid's end screen (unsure), the summary called an unsure end screen, a still frame of it, the stash.
    keys = [*raid_keyframes(0.0, 8.0), Keyframe(16.0, "survived_screen", False, sure=False),
            Keyframe(20.0, "survived_screen", False, sure=False), Keyframe(24.0, None, False, sure=False, moved=False),
            Keyframe(28.0, "stash_screen", False)]
    assert list_candidates(keys, PROFILE) == [2, 3]
    keys[3] = Keyframe(20.0, "survived_screen", False, sure=False, words=frozenset({"post_raid_screen"}))
    assert list_candidates(keys, PROFILE) == [] and raids_without_list(keys, PROFILE) == []


def test_a_restless_raid_gap_is_decoded_whole() -> None:
    keys = raid_keyframes(0.0, 8.0, 16.0)
    activity = packets(24.0, keyframes_every=8.0, bursts={t + 0.5: 5_000 for t in range(8, 15)})
    spans = spans_from(keys, profile=PROFILE, duration=24.0, activity=activity, rules=RULES)
    assert Span(8.0, 17.0) in spans


def test_a_kill_at_a_keyframe_is_decoded_from_at_most_the_longest_notification_before() -> None:
    keys = raid_keyframes(0.0, 8.0, 16.0, k8=Keyframe(8.0, "gameplay_hud", True))
    spans = spans_from(keys, profile=PROFILE, duration=24.0, activity=packets(24.0, keyframes_every=8.0), rules=RULES)
    assert Span(4.0, 9.0) in spans


def test_activity_bursts_are_what_one_frame_carries_beyond_its_neighbours() -> None:
    # One frame or two carry the new content; three or more alike are a moving scene.
    bursts = {2.0: 4_000, 2.1: 4_000, 5.0: 1_000, 6.0: 3_000, 6.1: 3_000, 6.2: 3_000}
    activity = packets(8.0, keyframes_every=8.0, bursts=bursts)
    assert activity.bursts(0.0, 8.0, excess=0.06) == [2.0, 2.1]  # 5.0: 4.5 % of a keyframe
    assert activity.bursts(0.0, 8.0, excess=0.04) == [2.0, 2.1, 5.0]
    assert activity.bursts(2.05, 8.0, excess=0.06) == [2.1]


def test_a_cut_into_a_cheap_scene_is_measured_against_the_cheaper_keyframe_around_it() -> None:
    # Keyframes at a fixed interval: a detailed menu's costs 150,000 bytes, the raid's after it 20,000. The cut
    # into the raid at 5.3 s (10,000 bytes) is 7 % of the menu's keyframe, half the raid's.
    sizes = {0.0: 150_000, 8.0: 20_000, 16.0: 20_000}
    found = [Packet(n / 10, sizes.get(n / 10, 10_000 if n == 53 else 100), n % 80 == 0) for n in range(240)]
    activity = Activity(found)
    assert activity.bursts(0.0, 8.0, excess=0.08) == [5.3]
    assert activity.excess[53] == pytest.approx((10_000 - 100) / 20_000)
    # A black keyframe after the menu (50 bytes, under a tenth of the median keyframe) measures no scene.
    sizes[8.0] = 50
    found = [Packet(n / 10, sizes.get(n / 10, 10_000 if n == 53 else 100), n % 80 == 0) for n in range(240)]
    assert Activity(found).excess[53] == pytest.approx((10_000 - 100) / 150_000)


class FakeFrames:
    """10 frames a second for 30 s with keyframes every 8 s; a seek restarts at the keyframe before."""

    def __init__(self) -> None:
        self.next = 0
        self.first = 0
        self.decoded = 0
        self.converted = 0
        self.fps = 10.0
        self.duration = 30.0

    def seek(self, seconds: float) -> None:
        target = round(seconds * 10)
        self.next = target - target % 80
        self.first = target

    def skip_to(self, seconds: float) -> None:
        self.first = max(self.first, round(seconds * 10))

    def read_frame(self) -> Frame | None:
        while self.next < 300:
            n, self.next = self.next, self.next + 1
            self.decoded += 1
            if n >= self.first:
                self.converted += 1
                return Frame(picture=None, number=n, video_time=n / 10)  # type: ignore[arg-type]
        return None

    def close(self) -> None:
        return None


def test_spans_in_one_gop_are_read_on_to_not_sought_again() -> None:
    frames = FakeFrames()
    spans = [Span(9.0, 10.0), Span(12.0, 13.0), Span(17.0, 18.0)]
    source = SpanSource(frames, spans, keyframes=[0.0, 8.0, 16.0, 24.0])  # type: ignore[arg-type]
    seen = []
    while (frame := source.read_frame()) is not None:
        seen.append(round(frame.video_time, 1))
    assert seen == [round(9.0 + i / 10, 1) for i in range(10)] + [round(12.0 + i / 10, 1) for i in range(10)] + \
        [round(17.0 + i / 10, 1) for i in range(10)]
    # 9-13 s: one seek to the keyframe at 8 s; 17 s lies past the keyframe at 16 s: a seek there.
    assert source.seeks == 2
    # 10-12 s is decoded on the way to 12 s but not converted: only the first frame past each span is.
    assert frames.decoded == (131 - 80) + (181 - 160) and frames.converted == len(seen) + len(spans)


def test_each_frame_names_its_stretch_of_spans_less_than_a_second_apart_and_keeps_it_after_a_seek() -> None:
    spans = [Span(9.0, 10.0), Span(10.5, 11.0), Span(17.0, 17.2)]
    assert stretches(spans) == [(9.0, 11.0), (9.0, 11.0), (17.0, 17.2)]
    source = SpanSource(FakeFrames(), spans, keyframes=[0.0, 8.0, 16.0, 24.0])  # type: ignore[arg-type]
    seen = {}
    while (frame := source.read_frame()) is not None:
        seen[round(frame.video_time, 1)] = frame.stretch
    assert seen[9.0] == seen[10.9] == (9.0, 11.0) and seen[17.1] == (17.0, 17.2)
    # A resumed run cuts the span it resumes in, not the stretch its frames belong to.
    source.seek(10.7)
    frame = source.read_frame()
    assert frame is not None and round(frame.video_time, 1) == 10.7 and frame.stretch == (9.0, 11.0)


def test_news_are_the_bursts_of_gaps_whose_bursts_can_be_trusted() -> None:
    keys = raid_keyframes(0.0, 8.0, 16.0)
    restless = {16.1 + i: 9_000 for i in range(RULES.max_bursts + 1)}  # more bursts than a gap may hold
    activity = packets(24.0, keyframes_every=8.0, bursts={3.2: 9_000, 5.0: 12_000, 12.4: 9_000, **restless})
    assert news_from(keys, duration=24.0, activity=activity, rules=RULES) == [3.2, 5.0, 12.4]
    assert news_from(keys, duration=24.0, activity=None, rules=RULES) == []  # packet sizes unknown: no news


def test_each_frame_says_how_soon_news_comes_in_its_stretch() -> None:
    spans = [Span(9.0, 10.0), Span(10.5, 11.0), Span(17.0, 17.5)]
    news = [9.25, 9.28, 10.7, 12.0, 17.0]  # 12.0: between stretches, in no span
    source = SpanSource(FakeFrames(), spans, keyframes=[0.0, 8.0, 16.0, 24.0], news=news)  # type: ignore[arg-type]
    seen = {}
    while (frame := source.read_frame()) is not None:
        seen[round(frame.video_time, 1)] = None if frame.news_in is None else round(frame.news_in, 2)
    assert [seen[t] for t in (9.0, 9.1, 9.2, 9.3, 9.4)] == [0.25, 0.15, 0.05, 0.0, 1.3]  # two between samples: one
    assert [seen[t] for t in (9.9, 10.5, 10.6, 10.7, 10.8)] == [0.8, 0.2, 0.1, 0.0, None]
    assert seen[17.0] == 0.0 and seen[17.1] is None
    source.seek(9.2)  # resumed: the same as the unbroken read from there
    frame = source.read_frame()
    assert frame is not None and round(frame.video_time, 1) == 9.2 and round(frame.news_in or 0, 2) == 0.05


def test_words_are_read_only_where_a_change_would_decode_a_whole_gap() -> None:
    before, unsure = Keyframe(0.0, "queue_timer", False), Keyframe(8.0, "match_found", False, sure=False)
    quiet = packets(16.0, keyframes_every=8.0, bursts={5.0: 15_000})
    restless = packets(16.0, keyframes_every=8.0, bursts={t + 0.5: 5_000 for t in range(0, 7)})
    assert not worth_reading(before, unsure, quiet, RULES)  # one cut: a short span costs less than two reads
    assert worth_reading(before, unsure, restless, RULES) and worth_reading(before, unsure, None, RULES)
    assert not worth_reading(before, Keyframe(8.0, "match_found", False), restless, RULES)  # the detector is sure


def test_gaps_beside_a_keyframe_nothing_names_are_searched_for_notifications() -> None:
    # The raid scene of an unseen look: no screen detected, no words read; a kill shows at 11.2 s.
    keys = [Keyframe(0.0, None, False, sure=False, moved=False), Keyframe(8.0, None, False, sure=False, moved=False),
            Keyframe(16.0, None, False, sure=False, moved=False)]
    activity = packets(24.0, keyframes_every=8.0, bursts={11.2: 4_000})
    assert Span(10.7, 12.2) in spans_from(keys, profile=PROFILE, duration=24.0, activity=activity, rules=RULES)


def test_keyframes_the_detector_only_guesses_at_are_glanced_at_and_their_gaps_searched() -> None:
    # A held-out queue screen called an unsure map select at every keyframe (no words read, the timer too small
    # to count as moved): what it shows is not known, so each is glanced at and the gaps searched, as if it named
    # nothing. Sure menus keep paying nothing.
    guessed = [Keyframe(t, "map_select", False, sure=False, moved=False) for t in (0.0, 8.0, 16.0)]
    activity = packets(24.0, keyframes_every=8.0, bursts={11.2: 4_000})
    rules = SpanRules(settle=1.0, margin=0.5, glance=0.2)
    spans = spans_from(guessed, profile=PROFILE, duration=24.0, activity=activity, rules=rules)
    assert Span(8.0, 8.2) in spans and Span(16.0, 16.2) in spans and Span(10.7, 12.2) in spans
    sure = [Keyframe(t, "map_select", False, moved=False) for t in (0.0, 8.0, 16.0)]
    assert spans_from(sure, profile=PROFILE, duration=24.0, activity=activity, rules=rules) == [Span(0.0, 1.0)]
