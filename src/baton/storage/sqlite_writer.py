"""The single SQLite connection of a store on a file, and how its jobs run.

Through SQLAlchemy and aiosqlite a statement costs several thread hand-offs
(cursor, execute and close, commit, pool reset). Every read and write a turn
makes goes through here instead, as one job. The SQL is compiled from the
same Core statements the other paths use, so table and column names live in
one place.

Group commit: the jobs of every task that runs in one turn of the event loop
are run together, after it; their appends, writes and reads (every job but
connecting and closing) share one transaction and one ``COMMIT`` (see
``sqlite_append`` for how a refused append leaves the others alone). Reads
ran on their own once, and the one a new contact's turn makes split a batch of
twenty turns into about four commits, each writing the pages they share.

Where: on the event loop's own thread, when the connection is free and
SQLite answers at once, which it does unless another process holds the
file's write lock. A batch of turns is SQLite's work of a few milliseconds,
and running it in place was measured 20-35% more turns per second than a
writer thread: a thread that gives the GIL up inside every statement waits
for it back while the loop runs Python, so the loop ran out of turns to run
while commits crawled. When the file is locked (``busy_timeout`` 0 here
fails at once), the rest of the batch goes to the writer thread, which
waits for the lock (``SQLITE_BUSY_TIMEOUT_MS``) without blocking the loop;
so do jobs that find the thread holding the connection.

The log is checkpointed by a thread of its own (``sqlite_checkpoint``), so
no commit on the loop pays for the syncs.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from queue import Empty, SimpleQueue
from typing import Any, TypeVar

from baton.domain.errors import StoreUnavailable
from baton.domain.records import Contact, ConversationRecord
from baton.storage import statements as q
from baton.storage.codec import loads, utc
from baton.storage.engine import SQLITE_BUSY_TIMEOUT_MS, SQLITE_WAL_AUTOCHECKPOINT
from baton.storage.sqlite_append import (
    Appended,
    AppendJob,
    GroupCall,
    append_turns,
    sqlite_defaults,
    sqlite_sql,
)
from baton.storage.sqlite_checkpoint import FALLBACK_FACTOR, WalCheckpointer

T = TypeVar("T")

# The thread takes queued jobs until it holds at least this many, so one group
# commit (and the wait of the first append in it) stays short.
GROUP_LIMIT = 256

LOAD_SQL = sqlite_sql(q.LOAD)
EVENTS_AFTER_SQL = sqlite_sql(q.EVENTS_AFTER)
IDENTITY_OWNER_SQL = sqlite_sql(q.IDENTITY_OWNER)
CONTACT_ROW_SQL = sqlite_sql(q.CONTACT_ROW)
IDENTITIES_SQL = sqlite_sql(q.IDENTITIES)
LATEST_RECORD_SQL = sqlite_sql(q.LATEST_RECORD)
LATEST_RECORD_DEFAULTS = sqlite_defaults(q.LATEST_RECORD)
INSERT_CONTACT_SQL = sqlite_sql(q.INSERT_CONTACT)
CLAIM_IDENTITY_SQL = sqlite_sql(q.Upserts("sqlite").claim_identity)
INSERT_CONVERSATION_SQL = sqlite_sql(q.INSERT_CONVERSATION)


def sqlite_timestamp(moment: datetime) -> str:
    """Format a time as SQLAlchemy's SQLite ``DATETIME`` stores it, in UTC.

    That is the UTC time's ISO text without its ``+00:00``: cutting the 26
    characters before it (the year always has four digits) is cheaper than a
    naive copy of the time, and this runs once or twice a turn.
    """
    return utc(moment).isoformat(" ", "microseconds")[:26]


def sqlite_time(text: str) -> datetime:
    """Read a time SQLAlchemy's SQLite ``DATETIME`` stored, as UTC."""
    return datetime.fromisoformat(text).replace(tzinfo=UTC)


_Work = Callable[[], Any] | AppendJob | GroupCall
#: the jobs that share one transaction when they sit side by side in a batch
_GROUPED = (AppendJob, GroupCall)
_Job = tuple[asyncio.AbstractEventLoop, "asyncio.Future[Any]", _Work]
_Settled = tuple["asyncio.Future[Any]", bool, Any]
_Done = list[tuple[asyncio.AbstractEventLoop, _Settled]]


def _busy(error: BaseException) -> bool:
    """Whether SQLite refused because another connection holds a lock."""
    code = getattr(error, "sqlite_errorcode", None)
    return isinstance(error, sqlite3.OperationalError) and code in (
        sqlite3.SQLITE_BUSY,
        sqlite3.SQLITE_LOCKED,
    )


class SqliteWriter:
    """One ``sqlite3`` connection; jobs run in batches, appends in groups, on the event
    loop's thread or (when SQLite would make it wait) on the writer thread."""

    def __init__(self, path: str) -> None:
        self._path = path
        self._jobs: SimpleQueue[list[_Job] | None] = SimpleQueue()
        # Jobs submitted during this turn of the event loop, run together after it.
        self._pending: list[_Job] = []
        self._connection: sqlite3.Connection | None = None
        # Held by whoever uses the connection: the loop's thread or the writer thread.
        self._using = threading.Lock()
        self._thread = threading.Thread(target=self._work, name="baton-sqlite-writer", daemon=True)
        self.checkpointer = WalCheckpointer(
            path, restart_frames=SQLITE_WAL_AUTOCHECKPOINT, writer_lock=self._using
        )

    async def start(self) -> None:
        """Start the thread, connect, and start checkpointing the log."""
        self._thread.start()
        await self._submit(self._connect)
        self.checkpointer.start()

    async def stop(self) -> None:
        """Finish queued jobs, close the connection and end the thread."""
        if not self._thread.is_alive():
            return
        await asyncio.to_thread(self.checkpointer.stop)
        await self._submit(self._disconnect, closing=True)
        self._jobs.put(None)
        await asyncio.to_thread(self._thread.join)

    async def run(self, job: Callable[[sqlite3.Connection], T]) -> T:
        """Run a read, ``job(connection)``, and return its result; it runs inside the
        transaction of the appends queued beside it (see ``GroupCall``)."""
        result: T = await self._submit(GroupCall(job))
        return result

    async def append(self, job: AppendJob) -> Appended:
        """Append a turn, in a transaction shared with the appends queued beside it."""
        result: Appended = await self._submit(job)
        return result

    async def write(self, job: Callable[[sqlite3.Connection], T]) -> T:
        """Run ``job(connection)`` inside the transaction of the appends queued beside it
        (it must not begin or end one itself)."""
        result: T = await self._submit(GroupCall(job))
        return result

    def _open_connection(self) -> sqlite3.Connection:
        if self._connection is None:
            raise sqlite3.ProgrammingError("the SQLite writer is closed")
        return self._connection

    async def _submit(self, job: _Work, *, closing: bool = False) -> Any:
        if self.checkpointer.lost is not None and not closing:  # nothing written would last
            raise StoreUnavailable(self.checkpointer.lost)
        # The jobs of every task that runs in this turn of the event loop run together.
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        if not self._pending:
            loop.call_soon(self._flush)
        self._pending.append((loop, future, job))
        return await future

    def _flush(self) -> None:
        if not self._pending:
            return
        pending, self._pending = self._pending, []
        if self._connection is None or not self._using.acquire(blocking=False):
            self._jobs.put(pending)  # not connected yet, or the thread has the connection
            return
        try:
            done, rest = self._run_batch(pending, in_place=True)
        finally:
            self._using.release()
        if rest:  # the file is locked by another process: the thread waits for it
            self._jobs.put(rest)
        self._settle(done)

    def _connect(self) -> None:
        # Autocommit mode: transactions are opened explicitly with BEGIN IMMEDIATE.
        # Both the loop's thread and the writer thread use it, never at once.
        connection = sqlite3.connect(self._path, isolation_level=None, check_same_thread=False)
        connection.execute("PRAGMA journal_mode=WAL")
        connection.execute("PRAGMA synchronous=NORMAL")
        connection.execute("PRAGMA busy_timeout=0")  # in place: fail at once (see above)
        connection.execute("PRAGMA foreign_keys=ON")
        # The checkpointer thread does it; this is the bound should it fall behind.
        fallback = SQLITE_WAL_AUTOCHECKPOINT * FALLBACK_FACTOR
        connection.execute(f"PRAGMA wal_autocheckpoint={fallback}")
        self._connection = connection

    def _patience(self, milliseconds: int) -> None:
        if self._connection is not None:
            self._connection.execute(f"PRAGMA busy_timeout={milliseconds}")

    def _disconnect(self) -> None:
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    def _work(self) -> None:
        jobs = self._jobs
        while True:
            first = jobs.get()
            if first is None:
                return
            batch = list(first)
            stop = False
            while len(batch) < GROUP_LIMIT:
                try:
                    more = jobs.get_nowait()
                except Empty:
                    break
                if more is None:
                    stop = True
                    break
                batch.extend(more)
            with self._using:
                self._patience(SQLITE_BUSY_TIMEOUT_MS)
                try:
                    done, _rest = self._run_batch(batch, in_place=False)
                finally:
                    self._patience(0)
            self._settle(done)
            if stop:
                return

    def _run_batch(self, batch: list[_Job], *, in_place: bool) -> tuple[_Done, list[_Job]]:
        """Run the jobs in order; in place, stop at the first the file's lock refuses and
        return it and the ones after it (nothing of it was written)."""
        done: _Done = []
        index = 0
        while index < len(batch):
            loop, future, work = batch[index]
            if isinstance(work, _GROUPED):
                end = index
                while end < len(batch) and isinstance(batch[end][2], _GROUPED):
                    end += 1
                group = batch[index:end]
                jobs = [job for _loop, _future, job in group if isinstance(job, _GROUPED)]
                try:
                    results = append_turns(self._open_connection(), jobs)
                except BaseException as exc:
                    if in_place and _busy(exc):
                        return done, batch[index:]
                    results = [(False, exc)] * len(jobs)
                for (g_loop, g_future, _job), (ok, value) in zip(group, results, strict=True):
                    done.append((g_loop, (g_future, ok, value)))
                index = end
                continue
            try:
                done.append((loop, (future, True, work())))
            except BaseException as exc:  # handed to the awaiting task, not swallowed
                if in_place and _busy(exc):
                    return done, batch[index:]
                done.append((loop, (future, False, exc)))
            index += 1
        return done, []

    @staticmethod
    def _settle(done: _Done) -> None:
        by_loop: dict[asyncio.AbstractEventLoop, list[_Settled]] = {}
        for loop, settled in done:
            by_loop.setdefault(loop, []).append(settled)
        try:
            running: asyncio.AbstractEventLoop | None = asyncio.get_running_loop()
        except RuntimeError:  # the writer thread
            running = None
        for loop, settled_list in by_loop.items():
            if loop is running:
                _settle_all(settled_list)
                continue
            with contextlib.suppress(RuntimeError):  # the loop closed meanwhile
                loop.call_soon_threadsafe(_settle_all, settled_list)


def _settle_all(settled: list[_Settled]) -> None:
    for future, ok, value in settled:
        if future.done():
            continue
        if ok:
            future.set_result(value)
        else:
            future.set_exception(value)


def read_data_version(connection: sqlite3.Connection) -> int:
    """The file's ``data_version``: it moves when another connection commits."""
    value: int = connection.execute("PRAGMA data_version").fetchone()[0]
    return value


def latest_record(
    connection: sqlite3.Connection, account_id: str, contact_id: str
) -> ConversationRecord | None:
    """Return the contact's most recently started conversation."""
    params = {**LATEST_RECORD_DEFAULTS, "b_account": account_id, "b_contact": contact_id}
    row = connection.execute(LATEST_RECORD_SQL, params).fetchone()
    if row is None:
        return None
    account, conversation_id, contact, channel, started, active, version, owner, ended = row
    return ConversationRecord(
        account_id=account,
        conversation_id=conversation_id,
        contact_id=contact,
        channel=channel,
        started_at=sqlite_time(started),
        last_activity_at=sqlite_time(active),
        version=version,
        owner=owner,
        ended=bool(ended),
    )


def find_or_create_contact(
    connection: sqlite3.Connection, identity: dict[str, Any], new: dict[str, Any]
) -> Contact | None:
    """Return the contact that holds a channel identity, creating ``new`` for it if none
    does. Runs inside a group write's transaction (``SqliteWriter.write``), whose write
    lock makes the look-up and the claim one step."""
    known = find_contact(connection, identity)
    if known is not None:
        return known
    connection.execute(INSERT_CONTACT_SQL, new)
    connection.execute(
        CLAIM_IDENTITY_SQL,
        {
            "account_id": identity["b_account"],
            "channel": identity["b_channel"],
            "address": identity["b_address"],
            "contact_id": new["id"],
        },
    )
    return Contact(  # what was just written, without reading it back
        account_id=identity["b_account"],
        contact_id=new["id"],
        identities={identity["b_channel"]: identity["b_address"]},
        tags=tuple(loads(new["tags"])),
        fields=loads(new["fields"]),
        language=new["language"],
    )


def insert_conversation(connection: sqlite3.Connection, row: dict[str, Any]) -> None:
    """Insert a new conversation row (inside a group write's transaction)."""
    connection.execute(INSERT_CONVERSATION_SQL, row)


def load_rows(
    connection: sqlite3.Connection, key: dict[str, Any]
) -> tuple[int, dict[str, Any], list[tuple[int, str, str]]] | None:
    """Return the conversation's version, snapshot data and the events after the snapshot."""
    row = connection.execute(LOAD_SQL, key).fetchone()
    if row is None:
        return None
    version, text = row
    snapshot: dict[str, Any] = loads(text)
    tail: list[tuple[int, str, str]] = []
    if snapshot["version"] < version:
        cursor = connection.execute(EVENTS_AFTER_SQL, {**key, "b_after": snapshot["version"]})
        tail = [(seq, type_name, data) for seq, type_name, data, _at in cursor]
    return version, snapshot, tail


def find_contact(connection: sqlite3.Connection, identity: dict[str, Any]) -> Contact | None:
    """Return the contact that holds a channel identity, or None if it is new."""
    found = connection.execute(IDENTITY_OWNER_SQL, identity).fetchone()
    if found is None:
        return None
    key = {"b_id": found[0], "b_account": identity["b_account"]}
    row = connection.execute(CONTACT_ROW_SQL, key).fetchone()
    if row is None:
        return None
    tags, fields, language = row
    return Contact(
        account_id=identity["b_account"],
        contact_id=found[0],
        identities=dict(sorted(connection.execute(IDENTITIES_SQL, key).fetchall())),
        tags=tuple(loads(tags)),
        fields=loads(fields),
        language=language,
    )
