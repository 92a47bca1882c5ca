"""A fault-injecting HTTP proxy for tests and the bench: a flaky stream-producer on 127.0.0.1.

For a seeded fraction of calls it either answers 503 without forwarding, or forwards the call
(so the target writes) and then drops the connection without answering. `block_paths` answer
404, which makes the hosted API look like a target without the atomic import call.
"""
from __future__ import annotations

import http.client
import random
import socket
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit


@dataclass
class FaultStats:
    calls: int = 0
    refused: int = 0
    dropped: int = 0
    blocked: int = 0
    forwarded_writes: int = 0  # POSTs that reached the target


@dataclass
class FaultConfig:
    upstream: str
    failure_rate: float = 0.0
    drop_share: float = 0.5  # of the failures, how many forward and then drop
    seed: int = 0
    block_paths: tuple[str, ...] = ()
    stats: FaultStats = field(default_factory=FaultStats)


class _Handler(BaseHTTPRequestHandler):
    server: _ProxyServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 - the base class's name
        """Quiet: a bench makes thousands of calls."""

    def do_GET(self) -> None:  # noqa: N802 - http.server's naming
        self._proxy()

    def do_POST(self) -> None:  # noqa: N802
        self._proxy()

    def _proxy(self) -> None:
        config = self.server.config
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        if urlsplit(self.path).path in config.block_paths:
            self.server.count("blocked")
            self._answer(404, b'{"error": "not found"}', "application/json")
            return
        fault = self.server.draw()
        if fault == "refuse":
            self._answer(503, b'{"error": "injected 503"}', "application/json")
            return
        upstream = urlsplit(config.upstream)
        connection = http.client.HTTPConnection(upstream.hostname or "127.0.0.1", upstream.port, timeout=60)
        headers = {k: v for k, v in self.headers.items() if k.lower() not in ("host", "connection")}
        if self.command == "POST":
            self.server.count("forwarded_writes")
        connection.request(self.command, self.path, body=body, headers=headers)
        response = connection.getresponse()
        payload = response.read()
        connection.close()
        if fault == "drop":
            # The target has written; the client never hears so.
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
            return
        self._answer(response.status, payload, response.getheader("Content-Type") or "application/json")

    def _answer(self, status: int, payload: bytes, content_type: str) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, config: FaultConfig) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.config = config
        self._rng = random.Random(config.seed)
        self._lock = threading.Lock()

    def draw(self) -> str:
        with self._lock:
            self.config.stats.calls += 1
            if self._rng.random() >= self.config.failure_rate:
                return ""
            fault = "drop" if self._rng.random() < self.config.drop_share else "refuse"
            self._bump("dropped" if fault == "drop" else "refused")
            return fault

    def count(self, name: str) -> None:
        with self._lock:
            self._bump(name)

    def _bump(self, name: str) -> None:
        setattr(self.config.stats, name, getattr(self.config.stats, name) + 1)


class FaultProxy:
    """`with FaultProxy(FaultConfig(upstream=url, failure_rate=0.2)) as proxy:` → `proxy.url`."""

    def __init__(self, config: FaultConfig) -> None:
        self.config = config
        self.server = _ProxyServer(config)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self._thread = threading.Thread(target=self.server.serve_forever, name="fault-proxy", daemon=True)

    def __enter__(self) -> FaultProxy:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()
        self._thread.join(timeout=5)
