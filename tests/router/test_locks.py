"""KeyedLocks: FIFO per key, concurrency across keys, cancellation, cleanup."""

from __future__ import annotations

import asyncio

import pytest

from baton.router.locks import KeyedLocks


async def test_one_holder_per_key_in_arrival_order() -> None:
    locks = KeyedLocks()
    order: list[int] = []
    inside = 0

    async def turn(n: int) -> None:
        nonlocal inside
        async with locks.hold("k"):
            inside += 1
            assert inside == 1
            await asyncio.sleep(0)
            order.append(n)
            inside -= 1

    await asyncio.gather(*(turn(n) for n in range(20)))
    assert order == list(range(20))
    assert len(locks) == 0


async def test_other_keys_run_meanwhile() -> None:
    locks = KeyedLocks()
    held = asyncio.Event()
    release = asyncio.Event()

    async def holder() -> None:
        async with locks.hold("a"):
            held.set()
            await release.wait()

    task = asyncio.create_task(holder())
    await held.wait()
    async with locks.hold("b"):
        assert len(locks) == 2
    release.set()
    await task
    assert len(locks) == 0


async def test_a_cancelled_waiter_is_skipped() -> None:
    locks = KeyedLocks()
    order: list[str] = []
    await locks.acquire("k")
    waiting = [asyncio.create_task(_take(locks, "k", name, order)) for name in "abc"]
    await asyncio.sleep(0)
    waiting[1].cancel()
    locks.release("k")
    await asyncio.gather(*waiting, return_exceptions=True)
    assert order == ["a", "c"]
    assert len(locks) == 0


async def test_a_waiter_cancelled_as_it_gets_the_key_passes_it_on() -> None:
    locks = KeyedLocks()
    order: list[str] = []
    await locks.acquire("k")
    first = asyncio.create_task(_take(locks, "k", "first", order))
    second = asyncio.create_task(_take(locks, "k", "second", order))
    await asyncio.sleep(0)
    locks.release("k")  # the key goes to ``first``, which has not run yet
    first.cancel()
    with pytest.raises(asyncio.CancelledError):
        await first
    await second
    assert order == ["second"]
    assert len(locks) == 0


async def test_an_error_inside_releases_the_key() -> None:
    locks = KeyedLocks()
    with pytest.raises(RuntimeError):
        async with locks.hold("k"):
            raise RuntimeError("boom")
    assert len(locks) == 0
    async with locks.hold("k"):
        pass


async def _take(locks: KeyedLocks, key: str, name: str, order: list[str]) -> None:
    async with locks.hold(key):
        order.append(name)
