"""Attaching an input log to a recording (command and admin), correcting its offset; bad logs refused whole."""
from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from labeling.inputlog_models import InputLog
from labeling.inputlog_services import input_track_for
from tests.factories import RecordingFactory

pytestmark = pytest.mark.django_db

WALL_LOG = ("time,event,x,y,button,key\n"
            "2026-03-01T18:30:05Z,move,960,540,,\n"
            "2026-03-01T18:30:06.5Z,down,,,left,\n"
            "2026-03-01T18:30:06.6Z,up,,,left,\n")


def attach(*args: str) -> str:
    out = StringIO()
    call_command("input_log", *args, stdout=out)
    return out.getvalue()


def test_attach_aligns_wall_clock_times_to_the_recording_and_the_offset_moves_them(library):
    recording = RecordingFactory(started_at="2026-03-01T18:30:00Z")
    log = library / "session.csv"
    log.write_text(WALL_LOG)
    said = attach("attach", "--recording", str(recording.pk), str(log), "--screen", "1920x1080")
    assert "3 events, offset +0 s, video 5.00-6.60 s" in said
    track = input_track_for(recording)
    assert track is not None and track.position_at(5.0) == (0.5, 0.5) and track.presses(6.0, 7.0) == [(6.5, "left")]
    assert "offset -1.5 s, video 3.50-5.10 s" in attach("offset", "--recording", str(recording.pk), "-1.5")
    track = input_track_for(recording)
    assert track is not None and track.presses(4.9, 5.1) == [(5.0, "left")]
    assert "offset -1.5 s" in attach("show", "--recording", str(recording.pk))
    assert InputLog.objects.get().rows == 3


def test_a_bad_log_is_refused_with_its_lines_and_nothing_is_stored(library, tmp_path):
    recording = RecordingFactory()
    log = library / "bad.csv"
    log.write_text(WALL_LOG + "oops,move,1,1,,\n")
    with pytest.raises(CommandError, match="line 2: x, y .* look like pixels .*; line 5: time 'oops'"):
        attach("attach", "--recording", str(recording.pk), str(log))
    outside = tmp_path / "elsewhere.csv"
    outside.write_text(WALL_LOG)
    with pytest.raises(CommandError, match="outside the allowed folders"):
        attach("attach", "--recording", str(recording.pk), str(outside))
    with pytest.raises(CommandError, match="--screen: screen 'big'"):
        attach("attach", "--recording", str(recording.pk), str(log), "--screen", "big")
    with pytest.raises(CommandError, match=f"recording {recording.pk} has no input log"):
        attach("offset", "--recording", str(recording.pk), "2")
    assert not InputLog.objects.exists()


def test_the_admin_attaches_a_log_and_corrects_its_offset(client, staff, library):
    recording = RecordingFactory(started_at="2026-03-01T18:30:00Z")
    log = library / "session.csv"
    log.write_text(WALL_LOG)
    client.force_login(staff)
    form = {"recording": recording.pk, "path": str(log), "offset_seconds": "0", "screen_width": "", "screen_height": ""}
    refused = client.post("/admin/labeling/inputlog/add/", form)
    assert refused.status_code == 200 and "look like pixels but no screen size is known" in refused.content.decode()
    assert not InputLog.objects.exists()
    added = client.post("/admin/labeling/inputlog/add/", {**form, "screen_width": "1920", "screen_height": "1080"})
    assert added.status_code == 302
    row = InputLog.objects.get()
    assert (row.rows, row.first_seconds, row.screen_width) == (3, 5.0, 1920)
    changed = client.post(f"/admin/labeling/inputlog/{row.pk}/change/",
                          {"offset_seconds": "2", "screen_width": "1920", "screen_height": "1080"})
    assert changed.status_code == 302
    row.refresh_from_db()
    assert (row.offset_seconds, row.first_seconds, row.last_seconds) == (2.0, 7.0, 8.6)
    assert client.get("/admin/labeling/inputlog/").status_code == 200
