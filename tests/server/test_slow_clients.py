"""A client trickling its request body gets 408 once ``body_seconds`` have passed, and its
connection is closed: 200 such clients each held a connection (and a file descriptor)
for as long as they liked."""

from __future__ import annotations

import socket
import time
from pathlib import Path

import pytest

from baton.server.app import create_app
from tests.server.conftest import settings_for
from tests.server.standin import ServerThread


def _trickle(port: int, path: str) -> tuple[bytes, float]:
    """Send headers declaring 100 bytes, then 10 of them; what came back, and when."""
    started = time.monotonic()
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        head = (
            f"POST {path} HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
            "Content-Length: 100\r\n\r\n"
        )
        sock.sendall(head.encode() + b'{"sender":')
        answer = b""
        while chunk := sock.recv(65536):  # until the server closes the connection
            answer += chunk
    return answer, time.monotonic() - started


@pytest.mark.parametrize("path", ["/channels/rest/webhook", "/v1/contacts"])
def test_a_body_that_does_not_arrive_in_time_is_408_and_the_connection_closes(
    clinic_root: Path, tmp_path: Path, path: str
) -> None:
    settings = settings_for(tmp_path, "http://127.0.0.1:9", body_seconds=1.0)
    with ServerThread(create_app(clinic_root, settings=settings)) as server:
        answer, took = _trickle(server.port, path)
    assert answer.startswith(b"HTTP/1.1 408"), answer[:200]
    assert b"request_timeout" in answer
    assert 0.9 < took < 8
