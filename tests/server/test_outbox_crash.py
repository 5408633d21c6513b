"""kill -9 of `baton serve` mid-load: after a restart nothing is lost or sent twice."""

from __future__ import annotations

import asyncio
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import httpx

from baton.channels.meta import hub_signature
from tests.server.conftest import APP_SECRET, provider_env
from tests.server.standin import Provider, ServerThread, free_port, standin_app
from tests.server.test_provider_channels import whatsapp_payload

MESSAGES = 150


def start_server(
    root: Path, db: Path, port: int, provider_url: str, log: IO[bytes]
) -> subprocess.Popen[bytes]:
    env = {
        **os.environ,
        **provider_env(provider_url),
        "BATON_PROJECT": str(root),
        "BATON_DATABASE_URL": f"sqlite+aiosqlite:///{db}",
        "BATON_OUTBOX_POLL_SECONDS": "0.05",
        "BATON_OUTBOX_BACKOFF_SECONDS": "0.05",
        "BATON_CONTACT_RATE_PER_MINUTE": "100000",
    }
    command = [
        sys.executable,
        "-m",
        "uvicorn",
        "--factory",
        "baton.server.app:app_from_env",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--log-level",
        "warning",
    ]
    return subprocess.Popen(command, env=env, stdout=log, stderr=log)


def wait_ready(url: str, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        assert process.poll() is None, "the server exited"
        try:
            if httpx.get(url + "/ready", timeout=1).status_code == 200:
                return
        except httpx.HTTPError:
            pass
        time.sleep(0.1)
    raise AssertionError("the server never became ready")


def message(i: int) -> bytes:
    return whatsapp_payload(
        f"1555000{i:04d}", {"id": f"wamid.crash{i}", "type": "text", "text": {"body": "hi"}}
    )


async def post_all(url: str, indices: list[int], acked: set[int] | None = None) -> set[int]:
    """POST the webhooks concurrently; return those the server acknowledged (200)."""
    acked = set() if acked is None else acked

    async def one(client: httpx.AsyncClient, i: int) -> None:
        body = message(i)
        headers = {
            "X-Hub-Signature-256": hub_signature(APP_SECRET, body),
            "Content-Type": "application/json",
        }
        try:
            answer = await client.post("/channels/whatsapp/webhook", content=body, headers=headers)
        except httpx.HTTPError:
            return
        if answer.status_code == 200:
            acked.add(i)

    async with httpx.AsyncClient(base_url=url, timeout=10) as client:
        await asyncio.gather(*(one(client, i) for i in indices))
    return acked


def test_kill_9_mid_load_loses_nothing_and_sends_nothing_twice(
    clinic_root: Path, tmp_path: Path
) -> None:
    provider = Provider(delay=0.05)
    db = tmp_path / "crash.db"
    with (
        ServerThread(standin_app(provider)) as stand_in,
        (tmp_path / "serve.log").open("wb") as log,
    ):
        port = free_port()
        url = f"http://127.0.0.1:{port}"
        server = start_server(clinic_root, db, port, stand_in.url, log)
        try:
            wait_ready(url, server)

            async def load_then_kill() -> set[int]:
                acked: set[int] = set()
                task = asyncio.create_task(post_all(url, list(range(MESSAGES)), acked))
                # Kill mid-load: some messages taken in, replies partly delivered.
                while len(acked) < MESSAGES // 3:
                    await asyncio.sleep(0.001)
                server.send_signal(signal.SIGKILL)
                return await task

            acked = asyncio.run(load_then_kill())
            server.wait(10)
            sent_before = len(provider.accepted)
            assert sent_before < MESSAGES, "the kill came too late to test anything"
            assert len(acked) < MESSAGES, "the kill came after the load"
            print(f"acked before the kill: {len(acked)}, replies accepted: {sent_before}")
            # Restart; the provider retries what was never acknowledged, and some of
            # what was (providers do), which must not be taken in twice.
            server = start_server(clinic_root, db, port, stand_in.url, log)
            wait_ready(url, server)
            retried = [i for i in range(MESSAGES) if i not in acked] + sorted(acked)[:5]
            assert asyncio.run(post_all(url, retried)) == set(retried)
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                with sqlite3.connect(db) as conn:
                    pending = conn.execute(
                        "SELECT count(*) FROM outbox WHERE status != 'sent'"
                    ).fetchone()[0]
                if pending == 0:
                    break
                time.sleep(0.1)
        finally:
            server.send_signal(signal.SIGTERM)
            server.wait(10)
    with sqlite3.connect(db) as conn:
        received = conn.execute(
            "SELECT json_extract(data, '$.message_id') FROM events WHERE type='message_received'"
        ).fetchall()
        replies = conn.execute("SELECT count(*) FROM events WHERE type='message_sent'").fetchone()
        rows = conn.execute("SELECT idempotency_key, status FROM outbox").fetchall()
    ids = [r[0] for r in received]
    # Every message taken in exactly once.
    assert sorted(ids) == sorted(f"wamid.crash{i}" for i in range(MESSAGES))
    # Every reply queued, delivered, and accepted by the provider once.
    assert len(rows) == replies[0] >= MESSAGES
    assert all(status == "sent" for _key, status in rows)
    assert set(provider.accepted) == {key for key, _status in rows}
    per_contact = {}
    for item in provider.accepted.values():
        per_contact[item["to"]] = per_contact.get(item["to"], 0) + 1
    assert len(per_contact) == MESSAGES and len(set(per_contact.values())) == 1
    resent = len(provider.received) - len(provider.accepted)
    print(f"sends repeated with the same idempotency key after the crash: {resent}")
