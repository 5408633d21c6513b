"""Web chat across instances: a turn one instance runs reaches the sockets another holds.

A browser's socket is open on one instance; an operator's message, a timer or a
workflow for that conversation may run on another (several instances behind a load
balancer on one PostgreSQL). Each instance pushes a turn's frames to its own sockets
(``WebChatHub``) and, on PostgreSQL, announces the turn with ``NOTIFY`` on
``baton_webchat``: the account, the web chat session, the conversation and the
version it reached, and how many events the turn appended (a notification holds at
most 8,000 bytes; the frames may not fit, the log has them). Every instance listens;
one that holds a socket of that session reads the turn's events back from the log and
pushes their frames, in the order the notifications came. An instance skips its own.

SQLite serves one process: there is nothing to announce.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import secrets
from typing import Any

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from baton.domain.ports import EventStore
from baton.server.webchat import WebChatHub, reply_frames

log = logging.getLogger(__name__)

CHANNEL = "baton_webchat"


class WebChatRelay:
    """Announces this instance's web chat turns and relays other instances' ones."""

    def __init__(self, sql: AsyncEngine, hub: WebChatHub, store: EventStore) -> None:
        self.sql = sql
        self.hub = hub
        self.store = store
        self.instance = secrets.token_hex(8)
        self.enabled = sql.dialect.name == "postgresql"
        self._turns: asyncio.Queue[dict[str, Any]] = asyncio.Queue()
        #: set once the instance listens (tests wait for it)
        self.listening = asyncio.Event()

    async def announce(
        self, account_id: str, session: str, conversation_id: str, version: int, count: int
    ) -> None:
        """Tell the other instances a turn of ``session`` appended ``count`` events."""
        if not self.enabled or not version or not count:
            return
        payload = json.dumps(
            {
                "i": self.instance,
                "a": account_id,
                "s": session,
                "c": conversation_id,
                "v": version,
                "n": count,
            }
        )
        async with self.sql.begin() as conn:
            await conn.execute(sa.select(sa.func.pg_notify(CHANNEL, payload)))

    async def run(self) -> None:
        """Listen (reconnecting after a lost connection) and relay, until cancelled."""
        if not self.enabled:
            return
        relaying = asyncio.create_task(self._relay_all(), name="baton-webchat-relay")
        try:
            while True:
                try:
                    await self._listen()
                except asyncio.CancelledError:
                    raise
                except Exception:
                    log.exception("web chat relay: listening failed; again in 1 s")
                self.listening.clear()
                await asyncio.sleep(1.0)
        finally:
            relaying.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await relaying

    async def _listen(self) -> None:
        async with self.sql.connect() as conn:
            raw = await conn.get_raw_connection()
            driver: Any = raw.driver_connection  # asyncpg's Connection
            lost = asyncio.Event()
            driver.add_termination_listener(lambda _connection: lost.set())
            await driver.add_listener(CHANNEL, self._heard)
            self.listening.set()
            try:
                await lost.wait()
            finally:
                with contextlib.suppress(Exception):
                    await driver.remove_listener(CHANNEL, self._heard)

    def _heard(self, _connection: object, _pid: int, _channel: str, payload: str) -> None:
        try:
            turn = json.loads(payload)
        except ValueError:
            return
        if turn.get("i") != self.instance and self.hub.holds((turn["a"], turn["s"])):
            self._turns.put_nowait(turn)

    async def _relay_all(self) -> None:
        while True:
            turn = await self._turns.get()
            try:
                await self._relay(turn)
            except asyncio.CancelledError:
                raise
            except Exception:
                log.exception("web chat relay: turn of %s not relayed", turn.get("c"))

    async def _relay(self, turn: dict[str, Any]) -> None:
        version, count = int(turn["v"]), int(turn["n"])
        recorded = await self.store.read_events(turn["a"], turn["c"], after=version - count)
        events = [item.event for item in recorded if item.seq <= version]
        await self.hub.push((turn["a"], turn["s"]), reply_frames(events, version))
