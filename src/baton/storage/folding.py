"""A conversation's current state from its row: the stored snapshot and the events after it.

The snapshot trails the log by up to ``SNAPSHOT_EVERY`` events (see ``store``), so
whoever reads conversation rows directly (the management API's filtered listing)
folds the tail, as ``load_state`` does.
"""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncConnection

from baton.domain.events import event_from_dict
from baton.domain.state import ConversationState
from baton.storage import statements as q
from baton.storage.codec import loads


async def state_of_row(
    conn: AsyncConnection, account_id: str, conversation_id: str, version: int, snapshot: str
) -> ConversationState:
    """The state at ``version`` of a conversation whose stored snapshot is ``snapshot``."""
    state = ConversationState.from_dict(loads(snapshot))
    if state.version < version:
        after = {"b_id": conversation_id, "b_account": account_id, "b_after": state.version}
        for row in await conn.execute(q.EVENTS_AFTER, after):
            state.apply(event_from_dict(row.type, loads(row.data)))
    state.version = version
    return state
