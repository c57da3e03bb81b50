"""A webhook receiver on 127.0.0.1 for the alert tests: a real HTTP peer that keeps every JSON body."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


class Receiver:
    def __init__(self, server: ThreadingHTTPServer) -> None:
        self.url = f"http://127.0.0.1:{server.server_address[1]}/hooks/budget"
        self.bodies: list[dict[str, Any]] = []


@contextmanager
def webhook_receiver() -> Iterator[Receiver]:
    """A server that answers 204 to every POST and records its body."""
    received: list[dict[str, Any]] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            received.append(json.loads(self.rfile.read(length)))
            self.send_response(204)
            self.end_headers()

        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            return

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    receiver = Receiver(server)
    receiver.bodies = received
    try:
        yield receiver
    finally:
        server.shutdown()
        server.server_close()
