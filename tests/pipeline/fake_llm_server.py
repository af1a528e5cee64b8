"""A local HTTP server on 127.0.0.1 speaking the Anthropic Messages and Message Batches APIs and
the OpenAI Chat Completions, Embeddings, Files and Batch APIs, for driving the real SDKs in tests.

Behaviours:
- a queue of scripted answers ("ok", "429", "500", "malformed", "timeout"); an empty queue is "ok";
- ``latency_s`` per answered call (a 429 or 500 comes at once); ``max_in_flight`` (a concurrency limit: a call over it gets a 429 with
  ``retry-after``); ``rate_429``/``rate_500``, a seeded share of calls answered 429 (with
  ``retry-after`` and ``retry-after-ms``) or 500;
- ``hold_after``: calls after the first N wait for ``release`` (a run that cannot finish);
- answers that depend on the prompt: a candidate code (``NNNNNN: ...`` lines) picked by a hash of
  the prompt, so that two paths sending the same prompts get the same answers.

Every request is logged (path, body, a digest of the body, start and end time, status) so tests can
check that each 429 was retried after its ``retry-after`` and that nothing was sent twice.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import random
import re
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import default as email_policy
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_CANDIDATE = re.compile(r"^(\d{6}):", re.MULTILINE)
ANTHROPIC_USAGE = (123, 17)
OPENAI_USAGE = (111, 13)


@dataclass
class Hit:
    method: str
    path: str
    body: dict[str, Any]
    digest: str
    start: float
    end: float = 0.0  # after the response was written (a client may already have read it)
    replied: float = 0.0  # just before a 429 was written: no client can have read it earlier
    status: int = 0
    retry_after_s: float | None = None
    headers: dict[str, str] = field(default_factory=dict)


def answer_for(prompt: str) -> str:
    """The fake model's answer: a candidate of the prompt chosen by a hash of the prompt."""
    h = int.from_bytes(hashlib.sha256(prompt.encode()).digest()[:8], "little")
    codes = _CANDIDATE.findall(prompt) or ["010121"]
    return json.dumps({"code": codes[h % len(codes)], "confidence": 0.5 + (h >> 8) % 50 / 100,
                       "rationale": "fake model: chosen by a hash of the prompt",
                       "usefulness": 0.9, "description": "expanded text"})


class FakeLLM:
    def __init__(self, answer: str | None = None, *, latency_s: float = 0.0,
                 max_in_flight: int = 0, rate_429: float = 0.0, rate_500: float = 0.0,
                 retry_after_s: float = 0.0, seed: int = 0, batch_polls: int = 1) -> None:
        self.answer = answer
        self.behaviours: deque[str] = deque()
        self.requests: list[dict[str, Any]] = []
        self.log: list[Hit] = []
        self.timeout_s = 3.0
        self.latency_s = latency_s
        self.max_in_flight = max_in_flight
        self.rate_429 = rate_429
        self.rate_500 = rate_500
        self.retry_after_s = retry_after_s
        self.batch_polls = batch_polls
        self.batch_fail: set[str] = set()  # custom ids a batch answers with an error
        # Calls after the first ``hold_after`` wait until ``release`` is set (at most 30 s): a run
        # held there cannot finish, so a test can interrupt it at a known point.
        self.hold_after: int | None = None
        self.release = threading.Event()
        self._single_calls = 0
        self.in_flight = 0
        self.peak_in_flight = 0
        self._rng = random.Random(seed)
        self._lock = threading.Lock()
        self._batches: dict[str, dict[str, Any]] = {}
        self._files: dict[str, bytes] = {}
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host!s}:{port}"

    def __enter__(self) -> FakeLLM:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()

    def queue(self, *behaviours: str) -> None:
        self.behaviours.extend(behaviours)

    def completions(self) -> list[Hit]:
        """Logged single calls (messages / chat completions)."""
        return [h for h in self.log if h.path.endswith(("/messages", "/chat/completions"))]

    # -- answers ------------------------------------------------------------------------------
    def _text(self, prompt: str) -> str:
        return self.answer if self.answer is not None else answer_for(prompt)

    def message(self, body: dict[str, Any]) -> dict[str, Any]:
        prompt = body["messages"][-1]["content"]
        return {"id": "msg_1", "type": "message", "role": "assistant", "model": body.get("model"),
                "stop_reason": "end_turn", "stop_sequence": None,
                "content": [{"type": "text", "text": self._text(prompt)}],
                "usage": {"input_tokens": ANTHROPIC_USAGE[0], "output_tokens": ANTHROPIC_USAGE[1]}}

    def chat(self, body: dict[str, Any]) -> dict[str, Any]:
        prompt = body["messages"][-1]["content"]
        return {"id": "chatcmpl-1", "object": "chat.completion", "created": 0,
                "model": body.get("model"),
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": self._text(prompt)}}],
                "usage": {"prompt_tokens": OPENAI_USAGE[0], "completion_tokens": OPENAI_USAGE[1],
                          "total_tokens": sum(OPENAI_USAGE)}}

    @staticmethod
    def embeddings(body: dict[str, Any]) -> dict[str, Any]:
        inputs = body.get("input") or []
        if isinstance(inputs, str):
            inputs = [inputs]
        dims = int(body.get("dimensions") or 8)
        data = []
        for i, text in enumerate(inputs):
            h = hashlib.sha256(text.encode()).digest()
            vec = [float(h[k % 32] % 7) + 1.0 for k in range(dims)]
            data.append({"object": "embedding", "index": i, "embedding": vec})
        return {"object": "list", "data": data, "model": body.get("model"),
                "usage": {"prompt_tokens": 5 * len(inputs), "total_tokens": 5 * len(inputs)}}

    # -- batches ------------------------------------------------------------------------------
    def _anthropic_batch(self, bid: str) -> dict[str, Any]:
        b = self._batches[bid]
        ended = b["polls"] >= self.batch_polls or b["cancelled"]
        n = len(b["requests"])
        failed = sum(cid in self.batch_fail for cid in b["requests"]) if ended else 0
        return {"id": bid, "type": "message_batch",
                "processing_status": "ended" if ended else "in_progress",
                "request_counts": {"processing": 0 if ended else n,
                                   "succeeded": n - failed if ended else 0, "errored": failed,
                                   "canceled": 0, "expired": 0},
                "created_at": "2025-01-01T00:00:00Z", "expires_at": "2025-01-02T00:00:00Z",
                "ended_at": "2025-01-01T00:01:00Z" if ended else None,
                "results_url": f"{self.url}/v1/messages/batches/{bid}/results" if ended else None}

    def _openai_batch(self, bid: str) -> dict[str, Any]:
        b = self._batches[bid]
        ended = b["polls"] >= self.batch_polls or b["cancelled"]
        n = len(b["requests"])
        failed = sum(cid in self.batch_fail for cid in b["requests"]) if ended else 0
        if ended and "output" not in b:
            lines = []
            for cid, body in b["requests"].items():
                if cid in self.batch_fail:
                    continue
                lines.append(json.dumps({"id": f"br-{cid}", "custom_id": cid, "error": None,
                                         "response": {"status_code": 200, "request_id": "x",
                                                      "body": self.chat(body)}}))
            fid = f"file-out-{bid}"
            self._files[fid] = ("\n".join(lines) + "\n").encode()
            b["output"] = fid
        return {"id": bid, "object": "batch", "endpoint": "/v1/chat/completions", "errors": None,
                "input_file_id": b["input"], "completion_window": "24h",
                "status": ("cancelled" if b["cancelled"] else "completed") if ended else "in_progress",
                "output_file_id": b.get("output"), "error_file_id": None, "created_at": 0,
                "request_counts": {"total": n, "completed": n - failed if ended else 0,
                                   "failed": failed}}

    def route(self, method: str, path: str, body: dict[str, Any], raw: bytes,
              ctype: str) -> tuple[int, bytes, str]:
        """(status, body, content type) for a request that got past the scripted behaviours."""
        path = path.split("?")[0]
        with self._lock:
            if method == "POST" and path.endswith("/messages/batches"):
                bid = f"msgbatch_{len(self._batches)}"
                self._batches[bid] = {"requests": {r["custom_id"]: r["params"]
                                                   for r in body["requests"]},
                                      "polls": 0, "cancelled": False}
                return 200, json.dumps(self._anthropic_batch(bid)).encode(), "application/json"
            m = re.search(r"/messages/batches/([^/]+)(/results|/cancel)?$", path)
            if m and m.group(1) in self._batches:
                bid, tail = m.group(1), m.group(2)
                b = self._batches[bid]
                if tail == "/cancel":
                    b["cancelled"] = True
                    return 200, json.dumps(self._anthropic_batch(bid)).encode(), "application/json"
                if tail == "/results":
                    lines = []
                    for cid, params in b["requests"].items():
                        result: dict[str, Any] = (
                            {"type": "errored", "error": {"type": "error", "error": {
                                "type": "api_error", "message": "batch item failed"}}}
                            if cid in self.batch_fail
                            else {"type": "succeeded", "message": self.message(params)})
                        lines.append(json.dumps({"custom_id": cid, "result": result}))
                    return 200, ("\n".join(lines) + "\n").encode(), "application/binary"
                b["polls"] += 1
                return 200, json.dumps(self._anthropic_batch(bid)).encode(), "application/json"
            if method == "POST" and path.endswith("/files"):
                fid = f"file-{len(self._files)}"
                self._files[fid] = _multipart_file(raw, ctype)
                out = {"id": fid, "object": "file", "bytes": len(self._files[fid]),
                       "created_at": 0, "filename": "batch.jsonl", "purpose": "batch",
                       "status": "processed"}
                return 200, json.dumps(out).encode(), "application/json"
            m = re.search(r"/files/([^/]+)/content$", path)
            if m and m.group(1) in self._files:
                return 200, self._files[m.group(1)], "application/octet-stream"
            if method == "POST" and path.endswith("/batches"):
                bid = f"batch_{len(self._batches)}"
                lines = self._files[body["input_file_id"]].decode().splitlines()
                items = [json.loads(x) for x in lines if x.strip()]
                self._batches[bid] = {"requests": {i["custom_id"]: i["body"] for i in items},
                                      "input": body["input_file_id"], "polls": 0,
                                      "cancelled": False}
                return 200, json.dumps(self._openai_batch(bid)).encode(), "application/json"
            m = re.search(r"/batches/([^/]+)(/cancel)?$", path)
            if m and m.group(1) in self._batches:
                bid = m.group(1)
                if m.group(2):
                    self._batches[bid]["cancelled"] = True
                else:
                    self._batches[bid]["polls"] += 1
                return 200, json.dumps(self._openai_batch(bid)).encode(), "application/json"
        if path.endswith("/messages"):
            return 200, json.dumps(self.message(body)).encode(), "application/json"
        if path.endswith("/chat/completions"):
            return 200, json.dumps(self.chat(body)).encode(), "application/json"
        if path.endswith("/embeddings"):
            return 200, json.dumps(self.embeddings(body)).encode(), "application/json"
        return 404, b'{"error": {"message": "not found"}}', "application/json"

    def _scripted(self, path: str) -> str:
        """The behaviour for this call: the queue first, then the seeded random failures."""
        with self._lock:
            if self.behaviours:
                return self.behaviours.popleft()
            single = path.endswith(("/messages", "/chat/completions"))
            if single and self.max_in_flight and self.in_flight > self.max_in_flight:
                return "429"
            if single and self.rate_429 and self._rng.random() < self.rate_429:
                return "429"
            if single and self.rate_500 and self._rng.random() < self.rate_500:
                return "500"
        return "ok"

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # headers and body go out as two writes: with Nagle's algorithm on, the second waits
            # for the client's delayed ACK (40 ms on Linux), a stall no real API adds to a call
            disable_nagle_algorithm = True

            def log_message(self, *args: Any) -> None:
                pass

            def _send(self, status: int, body: bytes, ctype: str = "application/json",
                      headers: dict[str, str] | None = None) -> None:
                self.send_response(status)
                self.send_header("Content-Type", ctype)
                self.send_header("Content-Length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                    self.wfile.write(body)

            def do_GET(self) -> None:
                self._serve("GET")

            def do_POST(self) -> None:
                self._serve("POST")

            def _serve(self, method: str) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                raw = self.rfile.read(length) if length else b""
                ctype = self.headers.get("Content-Type", "")
                body: dict[str, Any] = {}
                if raw and ctype.startswith("application/json"):
                    body = json.loads(raw)
                hit = Hit(method, self.path, body, hashlib.sha256(raw).hexdigest(),
                          time.monotonic(), headers={k.lower(): v for k, v in self.headers.items()})
                with fake._lock:
                    fake.log.append(hit)
                    fake.requests.append({"path": self.path, "headers": hit.headers, "body": body})
                    fake.in_flight += 1
                    fake.peak_in_flight = max(fake.peak_in_flight, fake.in_flight)
                try:
                    self._answer(method, hit, body, raw, ctype)
                finally:
                    hit.end = time.monotonic()
                    with fake._lock:
                        fake.in_flight -= 1

            def _answer(self, method: str, hit: Hit, body: dict[str, Any], raw: bytes,
                        ctype: str) -> None:
                behaviour = fake._scripted(self.path)
                single = hit.path.endswith(("/messages", "/chat/completions"))
                if single:
                    with fake._lock:
                        fake._single_calls += 1
                        held = fake.hold_after is not None and fake._single_calls > fake.hold_after
                    if held:
                        fake.release.wait(30)
                if fake.latency_s and single and behaviour == "ok":  # a 429 or 500 comes at once
                    time.sleep(fake.latency_s)
                if behaviour == "429":
                    wait = fake.retry_after_s
                    hit.status, hit.retry_after_s = 429, wait
                    hit.replied = time.monotonic()
                    err = {"type": "error", "error": {"type": "rate_limit_error",
                                                      "message": "slow down"}}
                    self._send(429, json.dumps(err).encode(), headers={
                        "retry-after": f"{wait:g}", "retry-after-ms": str(int(wait * 1000))})
                    return
                if behaviour == "500":
                    hit.status = 500
                    err = {"type": "error", "error": {"type": "api_error", "message": "boom"}}
                    self._send(500, json.dumps(err).encode())
                    return
                if behaviour == "malformed":
                    hit.status = 200
                    self._send(200, b'{"this is": not json')
                    return
                if behaviour == "timeout":
                    time.sleep(fake.timeout_s)
                    self.close_connection = True
                    return
                status, out, out_type = fake.route(method, self.path, body, raw, ctype)
                hit.status = status
                self._send(status, out, out_type)

        return Handler


def _multipart_file(raw: bytes, ctype: str) -> bytes:
    message = BytesParser(policy=email_policy).parsebytes(
        f"Content-Type: {ctype}\r\n\r\n".encode() + raw)
    for part in message.iter_parts():
        if part.get_param("name", header="content-disposition") == "file":
            return bytes(part.get_payload(decode=True))
    raise ValueError("no file part in the upload")
