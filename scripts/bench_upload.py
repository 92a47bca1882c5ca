"""Upload a file through the resumable upload API and report throughput.

Usage: .venv/bin/python scripts/bench_upload.py http://127.0.0.1:8000 <api token> <video file> [chunk MB]
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

import requests


def main(base: str, token: str, path: Path, chunk_mb: int = 8) -> None:
    session = requests.Session()
    session.headers["Authorization"] = f"Token {token}"
    size = path.stat().st_size
    created = session.post(f"{base}/api/v1/uploads/", json={"filename": path.name, "size": size})
    created.raise_for_status()
    url = base + created.json()["url"]
    started = time.perf_counter()
    offset = 0
    with path.open("rb") as handle:
        while offset < size:
            body = handle.read(chunk_mb * 1024 * 1024)
            answer = session.patch(url, data=body, headers={
                "Content-Type": "application/offset+octet-stream", "Upload-Offset": str(offset)})
            if answer.status_code not in (200, 201):
                sys.exit(f"HTTP {answer.status_code}: {answer.text}")
            offset += len(body)
    elapsed = time.perf_counter() - started
    print(f"{size / 1e6:.0f} MB in {elapsed:.1f} s = {size / 1e6 / elapsed:.0f} MB/s "
          f"(chunks of {chunk_mb} MB; the last one includes fingerprint + ffprobe) → {answer.json().get('id')}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2], Path(sys.argv[3]), *(int(a) for a in sys.argv[4:5]))
