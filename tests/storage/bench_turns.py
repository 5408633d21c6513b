"""Micro-benchmark: turns per second, a turn being load_state + append of 4 events.

Run: ``python tests/storage/bench_turns.py [turns] [conversations]``.
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

from baton.domain import events as ev
from baton.storage import SqlEventStore, default_sqlite_url


async def bench(turns: int, conversations: int, *, cache_states: bool = True) -> float:
    """Run ``turns`` sequential turns spread over ``conversations``; return turns/s."""
    with tempfile.TemporaryDirectory() as folder:
        store = SqlEventStore(
            default_sqlite_url(Path(folder) / "bench.db"), cache_states=cache_states
        )
        await store.open()
        try:
            now = datetime.now(UTC)
            contact = await store.contact_for_identity("default", "web", "bench")
            ids = [
                (
                    await store.create_conversation("default", contact.contact_id, "web", now)
                ).conversation_id
                for _ in range(conversations)
            ]
            started = time.perf_counter()
            for turn in range(turns):
                conversation_id = ids[turn % conversations]
                state = await store.load_state("default", conversation_id)
                batch: list[ev.Event] = [
                    ev.MessageReceived(text=f"hello, this is message {turn}", channel="web"),
                    ev.IntentRecognized(bot_id="sales", intent="sales.price", confidence=0.91),
                    ev.SlotSet(bot_id="sales", name="product", value="basic"),
                    ev.MessageSent(
                        text="Our basic plan costs 10 EUR.", sender="bot", bot_id="sales"
                    ),
                ]
                expected = state.version
                state.apply_all(batch)
                await store.append("default", conversation_id, expected, batch, state, now)
            elapsed = time.perf_counter() - started
        finally:
            await store.close()
    return turns / elapsed


def main() -> None:
    """Print turns/s with and without the state cache."""
    turns = int(sys.argv[1]) if len(sys.argv) > 1 else 2000
    conversations = int(sys.argv[2]) if len(sys.argv) > 2 else 100
    for cache in (True, False):
        rate = asyncio.run(bench(turns, conversations, cache_states=cache))
        label = "cached" if cache else "uncached"
        sys.stdout.write(
            f"{turns} turns over {conversations} conversations, {label}: {rate:,.0f} turns/s\n"
        )


if __name__ == "__main__":
    main()
