"""A message typed into a link that died without a word is sent again after reconnecting:
the widget keeps each message until the server acknowledges it."""

from __future__ import annotations

import contextlib
import socket
import socketserver
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from baton.server.app import create_app
from baton.server.settings import ServerSettings
from baton.storage import default_sqlite_url
from tests.browser import CHROMIUM, launch
from tests.server.standin import ServerThread, free_port


class FlakyLink:
    """A TCP proxy on loopback that can swallow what the browser sends, then cut."""

    def __init__(self, target_port: int) -> None:
        self.swallow = threading.Event()
        self.open: list[socket.socket] = []
        link = self

        class Pipe(socketserver.BaseRequestHandler):
            def handle(self) -> None:
                upstream = socket.create_connection(("127.0.0.1", target_port))
                link.open += [self.request, upstream]
                back = threading.Thread(target=link.pump, args=(upstream, self.request, False))
                back.start()
                link.pump(self.request, upstream, True)
                back.join()

        self.server = socketserver.ThreadingTCPServer(("127.0.0.1", free_port()), Pipe)
        self.server.daemon_threads = True
        self.port = self.server.server_address[1]

    def pump(self, source: socket.socket, sink: socket.socket, outgoing: bool) -> None:
        try:
            while data := source.recv(65536):
                if not (outgoing and self.swallow.is_set()):
                    sink.sendall(data)
        except OSError:
            pass
        for end in (source, sink):
            with contextlib.suppress(OSError):
                end.close()

    def cut(self) -> None:
        """Close every connection (the browser then sees its socket close) and heal."""
        for end in self.open:
            with contextlib.suppress(OSError):
                end.shutdown(socket.SHUT_RDWR)
        self.open = []
        self.swallow.clear()

    def __enter__(self) -> FlakyLink:
        threading.Thread(target=self.server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.cut()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def flaky(clinic_root: Path, tmp_path: Path) -> Iterator[FlakyLink]:
    settings = ServerSettings(database_url=default_sqlite_url(tmp_path / "flaky.db"))
    with (
        ServerThread(create_app(clinic_root, settings=settings)) as server,
        FlakyLink(server.port) as link,
    ):
        yield link


@pytest.mark.skipif(not CHROMIUM.exists(), reason="needs Debian's chromium")
def test_a_message_sent_into_a_dead_link_is_sent_again(flaky: FlakyLink) -> None:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = launch(pw)
        try:
            page = browser.new_page()
            page.goto(f"http://127.0.0.1:{flaky.port}/")
            page.wait_for_selector('#baton-chat[data-connected="true"]', timeout=15_000)
            flaky.swallow.set()  # the link dies quietly: the socket still looks open
            box = page.locator('[data-baton="input"]')
            box.fill("hello there")
            box.press("Enter")
            page.wait_for_timeout(300)
            flaky.cut()  # ... and then for good: the widget reconnects
            page.wait_for_selector('[data-role="bot"][data-bot="triage"]', timeout=20_000)
            typed = page.locator('[data-role="user"]').filter(has_text="hello there")
            assert typed.count() == 1
        finally:
            browser.close()
