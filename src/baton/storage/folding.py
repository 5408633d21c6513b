"""Conversations' current states from their rows: the stored snapshot and the events after it.

The snapshot trails the log by up to ``SNAPSHOT_EVERY`` events (see ``store``), so
whoever reads conversation rows directly (the management API's filtered listing)
folds the tail, as ``load_state`` does: for a page of rows, with one query for all
their tails.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncConnection

from baton.domain.events import event_from_dict
from baton.domain.state import ConversationState
from baton.storage.codec import loads
from baton.storage.schema import events


@dataclass(frozen=True, slots=True)
class StoredRow:
    """What folding needs of a conversation's row."""

    conversation_id: str
    version: int
    snapshot: str


async def states_of_rows(
    conn: AsyncConnection, account_id: str, rows: Sequence[StoredRow]
) -> list[ConversationState]:
    """The state at its row's version of each conversation, in the order of ``rows``."""
    states = [ConversationState.from_dict(loads(row.snapshot)) for row in rows]
    behind = {
        row.conversation_id: state
        for row, state in zip(rows, states, strict=True)
        if state.version < row.version
    }
    if behind:
        e = events.c
        tails = sa.or_(
            *(
                sa.and_(e.conversation_id == conversation_id, e.seq > state.version)
                for conversation_id, state in behind.items()
            )
        )
        query = (
            sa.select(e.conversation_id, e.type, e.data)
            .where(e.account_id == account_id, tails)
            .order_by(e.conversation_id, e.seq)
        )
        for conversation_id, type_name, data in await conn.execute(query):
            behind[conversation_id].apply(event_from_dict(type_name, loads(data)))
    for row, state in zip(rows, states, strict=True):
        state.version = row.version
    return states
