"""A local HTTP server on 127.0.0.1 speaking the Anthropic Messages API and the OpenAI Chat
Completions and Embeddings wire formats, for driving the real SDKs in tests.

Each test queues behaviours ("ok", "429", "500", "malformed", "timeout"); an empty queue answers
"ok". The server records every request (path, headers, JSON body) for assertions.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class FakeLLM:
    def __init__(self, answer: str = '{"code": "010121", "confidence": 0.9}') -> None:
        self.answer = answer
        self.behaviours: deque[str] = deque()
        self.requests: list[dict[str, Any]] = []
        self.timeout_s = 3.0
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def __enter__(self) -> FakeLLM:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def queue(self, *behaviours: str) -> None:
        self.behaviours.extend(behaviours)

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(body)

            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length)
                body = json.loads(raw) if raw else {}
                fake.requests.append({"path": self.path, "headers": {k.lower(): v for k, v in self.headers.items()}, "body": body})
                behaviour = fake.behaviours.popleft() if fake.behaviours else "ok"
                if behaviour == "429":
                    err = {"type": "error", "error": {"type": "rate_limit_error", "message": "slow down"}}
                    self._send(429, json.dumps(err).encode(), {"retry-after": "0"})
                    return
                if behaviour == "500":
                    err = {"type": "error", "error": {"type": "api_error", "message": "boom"}}
                    self._send(500, json.dumps(err).encode())
                    return
                if behaviour == "malformed":
                    self._send(200, b'{"this is": not json')
                    return
                if behaviour == "timeout":
                    time.sleep(fake.timeout_s)
                    return
                if self.path.endswith("/messages"):
                    out = {
                        "id": "msg_1", "type": "message", "role": "assistant",
                        "model": body.get("model"), "stop_reason": "end_turn",
                        "stop_sequence": None,
                        "content": [{"type": "text", "text": fake.answer}],
                        "usage": {"input_tokens": 123, "output_tokens": 17},
                    }
                elif self.path.endswith("/chat/completions"):
                    out = {
                        "id": "chatcmpl-1", "object": "chat.completion", "created": 0,
                        "model": body.get("model"),
                        "choices": [{"index": 0, "finish_reason": "stop",
                                     "message": {"role": "assistant", "content": fake.answer}}],
                        "usage": {"prompt_tokens": 111, "completion_tokens": 13,
                                  "total_tokens": 124},
                    }
                elif self.path.endswith("/embeddings"):
                    inputs = body.get("input") or []
                    if isinstance(inputs, str):
                        inputs = [inputs]
                    dims = int(body.get("dimensions") or 8)
                    data = []
                    for i, text in enumerate(inputs):
                        vec = [float((hash(text) >> k) % 7) + 1.0 for k in range(dims)]
                        data.append({"object": "embedding", "index": i, "embedding": vec})
                    out = {"object": "list", "data": data, "model": body.get("model"),
                           "usage": {"prompt_tokens": 5 * len(inputs), "total_tokens": 5 * len(inputs)}}
                else:
                    self._send(404, b'{"error": {"message": "not found"}}')
                    return
                self._send(200, json.dumps(out).encode())

        return Handler
