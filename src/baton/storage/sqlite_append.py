"""Turns appended on the SQLite writer thread, many to one transaction (group commit).

Each append is: move the conversation's row from the expected version to
the new one (with the new snapshot), refuse if it is no longer its contact's
latest conversation, insert its events. A batch shares one transaction, and
a refused or failed append must leave the others alone:

- Usually the batch runs bare. A version guard that matches no row writes
  nothing, so a conflict needs no undo; the "latest" check is a read that
  only runs when another process has committed to the file since the
  conversation was last found to be its contact's latest (``AppendJob.seen``
  against ``PRAGMA data_version``, which moves only on other connections'
  commits).
- When an append has written something and must be undone (an insert
  raised, or the check found the conversation superseded), the transaction
  is rolled back and the whole batch runs again with a savepoint per
  append. Nothing was committed in between, and appends are deterministic,
  so every other append gets the outcome the first run gave it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

from sqlalchemy.dialects import sqlite
from sqlalchemy.sql import ClauseElement

from baton.storage import statements as q
from baton.storage.schema import conversations, events

Outcome = Literal["appended", "conflict", "missing", "superseded"]

_DIALECT = sqlite.dialect(paramstyle="named")


def sqlite_sql(statement: ClauseElement) -> str:
    """A Core statement's SQLite text, with ``:name`` parameters."""
    return str(statement.compile(dialect=_DIALECT))


def sqlite_defaults(statement: ClauseElement) -> dict[str, Any]:
    """The parameters a statement binds itself (``LIMIT 1`` and the like)."""
    return {k: v for k, v in statement.compile(dialect=_DIALECT).params.items() if v is not None}


_conv = conversations.c
#: an append's new row values, in this order (``snapshot`` None keeps the stored one, and
#: ``at`` None the last activity);
#: positional parameters bind faster than named ones
ADVANCE_COLUMNS = (
    "id", "account_id", "expected", "version", "at", "owner", "ended", "snapshot", "timers",
)  # fmt: skip
ADVANCE_SQL = (
    f"UPDATE {conversations.name} SET {_conv.version.name} = ?4, "
    f"{_conv.last_activity_at.name} = coalesce(?5, {_conv.last_activity_at.name}), "
    f"{_conv.owner.name} = ?6, {_conv.ended.name} = ?7, "
    f"{_conv.snapshot.name} = coalesce(?8, {_conv.snapshot.name}), "
    f"{_conv.has_timers.name} = ?9 "
    f"WHERE {_conv.id.name} = ?1 AND {_conv.account_id.name} = ?2 AND {_conv.version.name} = ?3"
)
#: an event row's values, in this order
EVENT_COLUMNS = tuple(c.name for c in events.columns)
INSERT_EVENTS_SQL = (
    f"INSERT INTO {events.name} ({', '.join(EVENT_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(EVENT_COLUMNS))})"
)
VERSION_SQL = sqlite_sql(q.VERSION)
LATEST_OF_CONTACT_SQL = sqlite_sql(q.LATEST_OF_CONTACT)
LATEST_OF_CONTACT_DEFAULTS = sqlite_defaults(q.LATEST_OF_CONTACT)
FIRST_APPEND_RIVAL_SQL = sqlite_sql(q.FIRST_APPEND_RIVAL)
FIRST_APPEND_RIVAL_DEFAULTS = sqlite_defaults(q.FIRST_APPEND_RIVAL)
DROP_EMPTY_SQL = sqlite_sql(q.DROP_EMPTY)
INSERT_RECEIPT_SQL = sqlite_sql(q.INSERT_RECEIPT)
QUEUE_REPLY_SQL = sqlite_sql(q.QUEUE_REPLY)


@dataclass(slots=True)
class AppendJob:
    """One turn's append: the conversation's new row values and its event rows.

    ``advance`` holds the values of ``ADVANCE_COLUMNS``, each row those of
    ``EVENT_COLUMNS``.
    ``check_latest`` also refuses the append ("superseded") if the conversation
    is no longer its contact's latest, which only another process can cause;
    ``seen`` is the ``data_version`` of the last transaction that found it
    still the latest (None if unknown): while the file's ``data_version`` is
    the same, no other connection has committed, and the check is skipped.
    ``receipts`` and ``replies`` are the parameters of ``INSERT_RECEIPT`` and
    ``QUEUE_REPLY`` (``baton.storage.statements``), written after the events.
    """

    advance: tuple[Any, ...]
    rows: list[tuple[Any, ...]]
    check_latest: bool = False
    seen: int | None = None
    receipts: list[dict[str, Any]] = field(default_factory=list)
    replies: list[dict[str, Any]] = field(default_factory=list)


@dataclass(slots=True)
class GroupCall:
    """Another job that shares the group's transaction instead of running on its own:
    a write (a new contact, a new conversation), which so pays no commit of its own, or
    a read (a contact's latest conversation, a state not cached), which so does not split
    the group in two commits, each writing the pages the appends share (a new contact's
    turn makes such a read, so one turn in six in the HTTP bench).
    ``run(connection)`` returns the job's result. It must not begin or end a
    transaction; if it raises, the batch reruns with savepoints like a failed append,
    and the error goes to its caller.
    """

    run: Callable[[sqlite3.Connection], Any]


GroupJob = AppendJob | GroupCall


@dataclass(slots=True)
class Appended:
    """What an append came to, and the file's ``data_version`` in its transaction."""

    outcome: Outcome
    data_version: int


class _Undo(Exception):
    """A bare append wrote something it must take back: rerun the batch with savepoints."""


def append_turns(connection: sqlite3.Connection, jobs: list[GroupJob]) -> list[tuple[bool, Any]]:
    """Run appends (and group calls) in one transaction; return (ok, Appended or the
    call's result, or the error) for each."""
    connection.execute("BEGIN IMMEDIATE")
    try:
        data_version = _data_version(connection)
        try:
            results = [_bare(connection, job, data_version) for job in jobs]
        except Exception:  # _Undo, or an insert failed (a retried provider message...)
            connection.execute("ROLLBACK")
            connection.execute("BEGIN IMMEDIATE")
            data_version = _data_version(connection)
            results = [_guarded(connection, job, data_version) for job in jobs]
        connection.execute("COMMIT")
    except BaseException:
        if connection.in_transaction:
            connection.execute("ROLLBACK")
        raise
    return results


def _data_version(connection: sqlite3.Connection) -> int:
    value: int = connection.execute("PRAGMA data_version").fetchone()[0]
    return value


def _bare(connection: sqlite3.Connection, job: GroupJob, data_version: int) -> tuple[bool, Any]:
    if isinstance(job, GroupCall):
        return True, job.run(connection)
    outcome = _advance(connection, job, data_version)
    if outcome == "superseded":
        raise _Undo  # its row moved already: only a savepoint can take that back
    return True, Appended(outcome, data_version)


def _guarded(connection: sqlite3.Connection, job: GroupJob, data_version: int) -> tuple[bool, Any]:
    connection.execute("SAVEPOINT turn")
    try:
        if isinstance(job, GroupCall):
            value = job.run(connection)
            connection.execute("RELEASE turn")
            return True, value
        outcome = _advance(connection, job, data_version)
        if outcome == "appended":
            connection.execute("RELEASE turn")
        else:
            connection.execute("ROLLBACK TO turn")
            connection.execute("RELEASE turn")
    except Exception as exc:
        connection.execute("ROLLBACK TO turn")
        connection.execute("RELEASE turn")
        return False, exc
    return True, Appended(outcome, data_version)


def _advance(connection: sqlite3.Connection, job: AppendJob, data_version: int) -> Outcome:
    advance = job.advance
    if advance[2] == 0 and _rival_is_live(connection, advance[0], advance[1]):
        return "conflict"  # another process opened the contact's conversation meanwhile
    if connection.execute(ADVANCE_SQL, advance).rowcount != 1:
        key = {"b_id": advance[0], "b_account": advance[1]}
        exists = connection.execute(VERSION_SQL, key).fetchone() is not None
        return "conflict" if exists else "missing"
    if job.check_latest and job.seen != data_version:
        key = {"b_id": advance[0], "b_account": advance[1]}
        latest = connection.execute(
            LATEST_OF_CONTACT_SQL, {**LATEST_OF_CONTACT_DEFAULTS, **key}
        ).fetchone()
        if latest is None or latest[0] != advance[0]:
            return "superseded"
    if job.rows:
        connection.executemany(INSERT_EVENTS_SQL, job.rows)
    if job.receipts:  # a provider's retry fails here (unique key): the batch reruns guarded
        connection.executemany(INSERT_RECEIPT_SQL, job.receipts)
    if job.replies:
        connection.executemany(QUEUE_REPLY_SQL, job.replies)
    return "appended"


def _rival_is_live(connection: sqlite3.Connection, conversation_id: str, account_id: str) -> bool:
    """Before a conversation's first append: whether its contact's latest other
    conversation with events is still going (another process opened it since this one
    was created). Then this one, still empty, is dropped, so that it does not stay the
    contact's latest, and the caller's retry finds the live one
    (``statements.FIRST_APPEND_RIVAL``); the write lock of the batch's ``BEGIN
    IMMEDIATE`` makes the check and the append one step."""
    key = {"b_id": conversation_id, "b_account": account_id}
    rival = connection.execute(
        FIRST_APPEND_RIVAL_SQL, {**FIRST_APPEND_RIVAL_DEFAULTS, **key}
    ).fetchone()
    if rival is None or rival[0]:
        return False
    connection.execute(DROP_EMPTY_SQL, key)
    return True
