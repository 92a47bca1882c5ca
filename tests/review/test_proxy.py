from __future__ import annotations

import subprocess

import pytest

from detection.models import Job
from project.jobs.dispatch import run_job
from project.jobs.services import job_create
from review.proxy import probe_codecs, proxy_command, recording_proxy_make
from tests.conftest import PASSWORD
from tests.review.factories import RecordingFactory



@pytest.mark.django_db
@pytest.mark.slow
def test_an_h264_mkv_is_remuxed_without_touching_the_original(owner, sample_mkv, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    before = sample_mkv.read_bytes()
    recording = RecordingFactory(owner=owner, source_path=str(sample_mkv), container="matroska,webm")
    job = Job.objects.create(kind=Job.Kind.PROXY, recording=recording)
    run_job(job.pk)
    job.refresh_from_db()
    recording.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.result["remuxed"] is True
    assert recording.proxy_path.endswith(".mp4") and str(tmp_path / "media" / "proxies") in recording.proxy_path
    assert probe_codecs(type(sample_mkv)(recording.proxy_path)) == ("h264", ["aac"])
    assert sample_mkv.read_bytes() == before


@pytest.mark.django_db
@pytest.mark.slow
def test_progress_comes_from_ffmpeg(owner, sample_mkv, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    recording = RecordingFactory(owner=owner, source_path=str(sample_mkv), duration_seconds=4.0)
    updates: list[tuple[int, int | None]] = []

    class Progress:
        def update(self, done: int, total: int | None = None, message: str | None = None) -> None:
            updates.append((done, total))

    recording_proxy_make(recording=recording, progress=Progress())  # type: ignore[arg-type]
    assert updates and all(total == 4_000_000 for _, total in updates)
    assert updates[-1][0] >= 3_500_000  # microseconds of output written, as ffmpeg reports them


@pytest.mark.django_db
@pytest.mark.slow
def test_another_codec_is_transcoded(owner, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    source = tmp_path / "mpeg4.mkv"
    subprocess.run(
        ["ffmpeg", "-loglevel", "error", "-f", "lavfi", "-i", "testsrc=duration=1:size=160x90:rate=10",
         "-c:v", "mpeg4", str(source)],
        check=True,
    )  # fmt: skip
    recording = RecordingFactory(owner=owner, source_path=str(source), duration_seconds=1.0)
    job = Job.objects.create(kind=Job.Kind.PROXY, recording=recording)
    run_job(job.pk)
    job.refresh_from_db()
    assert job.status == Job.Status.SUCCEEDED, job.error
    assert job.result["remuxed"] is False and job.result["video_codec"] == "mpeg4"
    recording.refresh_from_db()
    assert probe_codecs(type(source)(recording.proxy_path))[0] == "h264"


@pytest.mark.pure
def test_proxy_command_picks_copy_only_for_browser_codecs(tmp_path):
    copy = proxy_command(tmp_path / "a.mkv", tmp_path / "a.mp4", video="h264", audio=["aac"])
    assert ["-c", "copy"] == copy[copy.index("-c") : copy.index("-c") + 2] and "+faststart" in copy
    assert "libx264" in proxy_command(tmp_path / "a.mkv", tmp_path / "a.mp4", video="hevc", audio=["aac"])
    assert "libx264" in proxy_command(tmp_path / "a.mkv", tmp_path / "a.mp4", video="h264", audio=["opus"])


@pytest.mark.django_db
def test_the_page_offers_a_proxy_for_an_mkv(client, owner, sample_mkv):
    recording = RecordingFactory(owner=owner, source_path=str(sample_mkv), container="matroska,webm")
    client.login(username=owner.username, password=PASSWORD)
    page = client.get(f"/recordings/{recording.pk}/review/").content.decode()
    assert "Make browser proxy" in page
    job = job_create(kind=Job.Kind.PROXY, recording=recording, created_by=owner)
    assert "Make browser proxy" not in client.get(f"/recordings/{recording.pk}/review/jobs/").content.decode()
    job.delete()
