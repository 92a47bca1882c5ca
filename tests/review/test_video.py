from __future__ import annotations

import pytest

from review.video import RangeNotSatisfiable, parse_range
from tests.conftest import PASSWORD


@pytest.mark.pure
@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes=0-99", (0, 99)),
        ("bytes=100-", (100, 999)),
        ("bytes=-10", (990, 999)),
        ("bytes=-5000", (0, 999)),
        ("bytes=900-5000", (900, 999)),
        ("bytes=0-0", (0, 0)),
        ("bytes=0-1,5-6", None),  # several ranges: the whole file, which RFC 9110 allows
        ("items=0-1", None),
    ],
)
def test_parse_range(header, expected):
    assert parse_range(header, 1000) == expected


@pytest.mark.pure
@pytest.mark.parametrize("header", ["bytes=1000-", "bytes=5000-6000", "bytes=-0", "bytes=10-5"])
def test_unsatisfiable_ranges(header):
    with pytest.raises(RangeNotSatisfiable):
        parse_range(header, 1000)


@pytest.fixture
def owner_client(client, owner):  # type: ignore[no-untyped-def]
    client.login(username=owner.username, password=PASSWORD)
    return client


def video_url(recording) -> str:  # type: ignore[no-untyped-def]
    return f"/recordings/{recording.pk}/review/video/"


@pytest.mark.django_db
def test_range_request_returns_206_with_the_right_bytes(owner_client, recording, sample_mp4):
    content = sample_mp4.read_bytes()
    response = owner_client.get(video_url(recording), HTTP_RANGE="bytes=100-1123")
    assert response.status_code == 206
    assert response["Content-Range"] == f"bytes 100-1123/{len(content)}"
    assert response["Content-Length"] == "1024" and response["Accept-Ranges"] == "bytes"
    assert response["Content-Type"] == "video/mp4"
    assert b"".join(response.streaming_content) == content[100:1124]

    tail = owner_client.get(video_url(recording), HTTP_RANGE="bytes=-7")
    assert tail.status_code == 206 and b"".join(tail.streaming_content) == content[-7:]
    open_ended = owner_client.get(video_url(recording), HTTP_RANGE=f"bytes={len(content) - 3000}-")
    assert b"".join(open_ended.streaming_content) == content[-3000:]


@pytest.mark.django_db
def test_no_range_is_the_whole_file_and_a_bad_range_416(owner_client, recording, sample_mp4):
    content = sample_mp4.read_bytes()
    whole = owner_client.get(video_url(recording))
    assert whole.status_code == 200 and whole["Accept-Ranges"] == "bytes"
    assert int(whole["Content-Length"]) == len(content)
    assert b"".join(whole.streaming_content) == content
    bad = owner_client.get(video_url(recording), HTTP_RANGE=f"bytes={len(content)}-")
    assert bad.status_code == 416 and bad["Content-Range"] == f"bytes */{len(content)}"


@pytest.mark.django_db
def test_chunks_stay_bounded_on_a_big_sparse_file(owner_client, recording, tmp_path):
    """A 3 GiB sparse file: a range near the end answers at once and only that range is read."""
    big = tmp_path / "big.mp4"
    with big.open("wb") as handle:
        handle.seek(3 * 1024**3 - 4)
        handle.write(b"tail")
    recording.source_path = str(big)
    recording.save(update_fields=["source_path"])
    response = owner_client.get(video_url(recording), HTTP_RANGE=f"bytes={3 * 1024**3 - 4}-")
    assert response.status_code == 206 and b"".join(response.streaming_content) == b"tail"
    assert response["Content-Range"] == f"bytes {3 * 1024**3 - 4}-{3 * 1024**3 - 1}/{3 * 1024**3}"


@pytest.mark.django_db
def test_the_proxy_is_served_when_there_is_one(owner_client, recording, tmp_path):
    proxy = tmp_path / "proxy.mp4"
    proxy.write_bytes(b"proxy-bytes")
    recording.proxy_path = str(proxy)
    recording.save(update_fields=["proxy_path"])
    response = owner_client.get(video_url(recording), HTTP_RANGE="bytes=0-4")
    assert b"".join(response.streaming_content) == b"proxy"


@pytest.mark.django_db
def test_outsider_cannot_stream(client, outsider, recording):
    client.login(username=outsider.username, password=PASSWORD)
    assert client.get(video_url(recording), HTTP_RANGE="bytes=0-10").status_code == 404
