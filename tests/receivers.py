"""Local receivers for alerts: an HTTP server for webhooks and an SMTP server for e-mails.

Both bind to 127.0.0.1 on a free port, live as long as the ``with`` block, and record
what they received so tests can verify bodies, headers and signatures.
"""

from __future__ import annotations

import contextlib
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email import message_from_bytes
from email.message import Message
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Delivery:
    path: str
    headers: dict[str, str]
    body: bytes

    @property
    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    url: str
    deliveries: list[Delivery] = field(default_factory=list)
    # Status codes to answer, in order; 200 once they are used up.
    answers: list[int] = field(default_factory=list)
    delay_seconds: float = 0.0

    def wait_for(
        self, status: str, count: int = 1, timeout: float = 120, export_id: str | None = None
    ) -> list[Delivery]:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            found = [
                d
                for d in self.deliveries
                if d.json.get("status") == status and export_id in (None, d.json.get("export_id"))
            ]
            if len(found) >= count:
                return found
            time.sleep(0.2)
        raise AssertionError(
            f"no {count}x {status!r} webhook within {timeout} s; got {[d.json for d in self.deliveries]}"
        )


@contextlib.contextmanager
def webhook_receiver(path: str = "/hooks/export") -> Iterator[WebhookReceiver]:
    receiver: WebhookReceiver

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("Content-Length", 0))
            body = self.rfile.read(length)
            answer = receiver.answers.pop(0) if receiver.answers else 200
            if receiver.delay_seconds:
                time.sleep(receiver.delay_seconds)
            headers = dict(self.headers.items())
            receiver.deliveries.append(Delivery(self.path, {**headers, "_answer": answer}, body))  # type: ignore[dict-item]
            self.send_response(answer)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            """Quiet."""

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    receiver = WebhookReceiver(f"http://127.0.0.1:{server.server_address[1]}{path}")
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()


@dataclass
class SmtpReceiver:
    host: str
    port: int
    messages: list[Message] = field(default_factory=list)


@contextlib.contextmanager
def smtp_receiver() -> Iterator[SmtpReceiver]:
    from aiosmtpd.controller import Controller

    from airflow_export_provider.testing.loopback_s3 import free_port

    receiver = SmtpReceiver("127.0.0.1", free_port())

    class Handler:
        async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
            receiver.messages.append(message_from_bytes(envelope.original_content or envelope.content))
            return "250 OK"

    controller = Controller(Handler(), hostname=receiver.host, port=receiver.port)
    controller.start()
    try:
        yield receiver
    finally:
        controller.stop()
