"""A local HTTP server speaking the three VLM protocols (Gemini generateContent, Ollama /api/chat,
OpenAI /v1/chat/completions), so each backend is tested through its real client. The bench uses it
too (bench/bench_vlm.py), with a delay per answer like a real model's."""
from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

GOOD_LABEL = {"health": 73, "shield": 40, "tactic": "kiting", "intent_matches": "true",
              "rationale": "strafes while shooting", "confidence": 0.8}


@dataclass
class Reply:
    status: int = 200
    text: str = json.dumps(GOOD_LABEL)
    headers: dict[str, str] = field(default_factory=dict)
    error_body: dict[str, Any] | None = None


@dataclass
class Seen:
    protocol: str
    path: str
    body: dict[str, Any]

    @property
    def images(self) -> int:
        if self.protocol == "gemini":
            return sum(1 for c in self.body["contents"] for p in c["parts"] if "inlineData" in p or "inline_data" in p)
        if self.protocol == "ollama":
            return sum(len(m.get("images") or []) for m in self.body["messages"])
        return sum(1 for m in self.body["messages"] if isinstance(m["content"], list)
                   for part in m["content"] if part["type"] == "image_url")

    @property
    def temperature(self) -> float:
        if self.protocol == "gemini":
            return float(self.body["generationConfig"]["temperature"])
        if self.protocol == "ollama":
            return float(self.body["options"]["temperature"])
        return float(self.body["temperature"])


class FakeVlm:
    """`reply(n, seen)` decides the n-th answer (0-based); the default answers a good label."""

    def __init__(self, *, delay: float = 0.0, models: tuple[str, ...] = ("test-model",),
                 reply: Callable[[int, Seen], Reply] | None = None) -> None:
        self.delay = delay
        self.models = models
        self.reply = reply or (lambda n, seen: Reply())
        self.seen: list[Seen] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._server.server_address[1]}"

    def __enter__(self) -> FakeVlm:
        self._thread.start()
        return self

    def __exit__(self, *_: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _answer(self, protocol: str, path: str, body: dict[str, Any]) -> tuple[int, dict[str, str], dict[str, Any]]:
        seen = Seen(protocol, path, body)
        with self._lock:
            n = len(self.seen)
            self.seen.append(seen)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
        try:
            if self.delay:
                time.sleep(self.delay)
            reply = self.reply(n, seen)
        finally:
            with self._lock:
                self.in_flight -= 1
        if reply.status != 200:
            error = reply.error_body or {"error": {"code": reply.status, "message": "fake failure", "status": "X"}}
            return reply.status, reply.headers, error
        model = path.split("/models/")[-1].split(":")[0] if protocol == "gemini" else body.get("model", "")
        if protocol == "gemini":
            return 200, reply.headers, {
                "candidates": [{"content": {"role": "model", "parts": [{"text": reply.text}]}, "finishReason": "STOP"}],
                "usageMetadata": {"promptTokenCount": 1500, "candidatesTokenCount": 40, "totalTokenCount": 1540},
                "modelVersion": model,
            }
        if protocol == "ollama":
            return 200, reply.headers, {"model": model, "created_at": "2026-01-01T00:00:00Z", "done": True,
                                        "message": {"role": "assistant", "content": reply.text},
                                        "prompt_eval_count": 600, "eval_count": 40}
        return 200, reply.headers, {
            "id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": model,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": reply.text}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 700, "completion_tokens": 40, "total_tokens": 740},
        }

    def _listing(self, path: str, *, google: bool) -> dict[str, Any] | None:
        if google and "/models" in path:
            return {"models": [{"name": f"models/{m}"} for m in self.models]}
        if path == "/api/tags":
            return {"models": [{"name": m, "model": m, "size": 1, "digest": "x"} for m in self.models]}
        if path == "/v1/models":
            return {"object": "list", "data": [{"id": m, "object": "model", "created": 0, "owned_by": "me"}
                                               for m in self.models]}
        return None

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *_: Any) -> None:
                return None

            def _send(self, status: int, headers: dict[str, str], body: dict[str, Any]) -> None:
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def do_GET(self) -> None:
                if self.path == "/_stats":  # for a bench running the server in a process of its own
                    self._send(200, {}, {"requests": len(fake.seen), "max_in_flight": fake.max_in_flight})
                    return
                listing = fake._listing(self.path.split("?")[0], google="x-goog-api-key" in self.headers)
                self._send(200 if listing is not None else 404, {}, listing or {"error": "not found"})

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"{}")
                path = self.path.split("?")[0]
                if ":generateContent" in path:
                    protocol = "gemini"
                elif path == "/api/chat":
                    protocol = "ollama"
                elif path == "/v1/chat/completions":
                    protocol = "openai"
                else:
                    self._send(404, {}, {"error": "not found"})
                    return
                self._send(*fake._answer(protocol, path, body))

        return Handler


def thirty_percent_bad(n: int, seen: Seen) -> Reply:
    """10 % server errors (500), 10 % truncated JSON, 10 % outside the schema."""
    kind = n % 10
    if kind == 3:
        return Reply(status=500)
    if kind == 6:
        return Reply(text='{"health": 73, "shield": 4')
    if kind == 9:
        return Reply(text='{"health": 173, "tactic": "dancing"}')
    return Reply()


def main() -> None:
    """`python -m tests.labeling.fake_vlm DELAY [bad]`: serve until killed; the first line printed is the URL."""
    import sys

    delay = float(sys.argv[1]) if len(sys.argv) > 1 else 0.0
    reply = thirty_percent_bad if sys.argv[2:] == ["bad"] else None
    with FakeVlm(delay=delay, models=("test-model",), reply=reply) as server:
        print(server.url, flush=True)
        threading.Event().wait()


if __name__ == "__main__":
    main()
