"""Delivery outcomes recorded in the conversation's log, beside the reply they concern."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from typing import Any

from baton.domain import events as ev
from baton.domain.errors import ConcurrentWrite, UnknownConversation
from baton.router.router import Router

log = logging.getLogger(__name__)
ATTEMPTS = 5


async def record_delivery(
    router: Router, row: Mapping[str, Any], status: str, provider_id: str, reason: str
) -> None:
    """Append ``message_delivered`` or ``delivery_failed`` for an outbox row.

    Taken under the contact's lock, like a turn, so it never makes a turn retry
    in this process; another process's turn is met by optimistic concurrency.
    """
    event: ev.Event
    if status == "sent":
        event = ev.MessageDelivered(row["seq"], row["channel"], provider_id, row["idempotency_key"])
    else:
        attempts = int(row["attempts"]) + 1
        event = ev.DeliveryFailed(row["seq"], row["channel"], reason, attempts)
    account, conversation_id = row["account_id"], row["conversation_id"]
    store = router.store
    record = await store.get_conversation(account, conversation_id)
    if record is None:
        log.warning("outbox row %s names a missing conversation", row.get("id"))
        return
    async with router.locks.hold(f"{account}/{record.contact_id}"):
        for _attempt in range(ATTEMPTS):
            try:
                state = await store.load_state(account, conversation_id)
                version = state.version
                state.apply(event)
                state.version = version + 1
                await store.append(
                    account, conversation_id, version, [event], state, router.clock.now()
                )
                return
            except ConcurrentWrite:
                continue
            except UnknownConversation:
                return
    log.warning("could not record %s for %s:%s", event.type, conversation_id, row["seq"])
