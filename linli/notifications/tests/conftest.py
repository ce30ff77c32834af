"""A local HTTP gateway for the webhook channel tests (loopback only; tests never reach the internet)."""

from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest


class Gateway:
    def __init__(self):
        self.status = 200
        self.answer: dict | None = None
        self.requests: list[dict] = []
        self.server = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/notify"

    def _handler(self):
        gateway = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                gateway.requests.append({"path": self.path, "headers": dict(self.headers), "json": json.loads(body)})
                payload = json.dumps(gateway.answer or {}).encode()
                self.send_response(gateway.status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            def log_message(self, *args):
                pass

        return Handler


@pytest.fixture
def gateway():
    gw = Gateway()
    thread = threading.Thread(target=gw.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield gw
    gw.server.shutdown()
    gw.server.server_close()
