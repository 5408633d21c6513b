"""In-process turns per second for generated projects of 10, 100 and 1,000 bots.

A turn is: message in, contact and conversation found, owner resolved, intent
classified, flow run, reply produced, events and snapshot committed to the
SQLite file. Models are trained first by ``baton train`` in its own process, as a
deployment does, so the serving process's peak memory is its own (it loads the cached
models; scikit-learn is only imported to train). Each size runs ``--repeat`` times (in
fresh processes) and the median run is shown with the range. A shared or throttled
machine's speed drifts by a third from minute to minute, so the run also times a fixed
pure-Python loop before each size: compare runs by it. Run: ``python bench/turns.py``
(``--turns N`` to change the load).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import resource
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import yaml

from baton.router.messages import Inbound
from baton.runtime.engine import open_engine
from baton.storage import default_sqlite_url

TOPICS = ["orders", "refunds", "delivery", "accounts", "passwords", "invoices", "returns", "gifts"]
VERBS = ["track", "cancel", "change", "check", "update", "report", "find", "renew"]


def write_project(root: Path, bots: int) -> None:
    """A primary bot with greeting and help flows, plus ``bots - 1`` specialists."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "baton.yml").write_text(yaml.safe_dump({"name": f"bench-{bots}"}))
    for index in range(bots):
        bot_id = "front" if index == 0 else f"bot{index:04d}"
        folder = root / "bots" / bot_id
        folder.mkdir(parents=True)
        topic = TOPICS[index % len(TOPICS)]
        settings = {"name": bot_id, "primary": index == 0, "group": "all"}
        intents: dict[str, dict[str, list[str]]] = {}
        flows: dict[str, dict[str, list[dict[str, str]]]] = {}
        for number, verb in enumerate(VERBS[:3]):
            name = f"{verb}_{topic}_{index}"
            intents[name] = {
                "examples": [
                    f"{verb} my {topic} {index} {suffix}"
                    for suffix in ("please", "now", "today", "for me", "quickly")
                ]
                + [f"i want to {verb} the {topic} number {index}"]
            }
            flows[name] = {"steps": [{"say": f"{bot_id} will {verb} {topic} ({number})."}]}
        if index == 0:
            intents["greet"] = {"examples": ["hi", "hello", "hey", "good morning", "hello there"]}
            flows["greet"] = {"steps": [{"say": "Hello! How can I help?"}]}
        (folder / "bot.yml").write_text(yaml.safe_dump(settings))
        (folder / "intents.yml").write_text(yaml.safe_dump({"intents": intents}))
        (folder / "flows.yml").write_text(yaml.safe_dump({"flows": flows}))


async def measure(bots: int, turns: int, contacts: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory(prefix="baton-bench-") as tmp:
        root = Path(tmp) / "project"
        write_project(root, bots)
        started = time.perf_counter()  # `baton train` first, as a deployment does
        baton = Path(sys.executable).with_name("baton")
        subprocess.run([str(baton), "train", str(root)], check=True, capture_output=True)
        train = time.perf_counter() - started
        started = time.perf_counter()
        engine = await open_engine(root, database=default_sqlite_url(Path(tmp) / "bench.db"))
        setup = time.perf_counter() - started
        messages = ["hello", "track my orders 0 please", "hi there", "check my orders 0 today"]
        try:
            for warm in range(contacts):  # first contact turns create rows; not measured
                await engine.router.handle(Inbound("web", f"c{warm}", "hello"))
            gc.collect()
            per_contact = turns // contacts

            async def talk(contact: int) -> None:
                for n in range(per_contact):
                    text = messages[(n + contact) % len(messages)]
                    await engine.router.handle(Inbound("web", f"c{contact}", text))

            started = time.perf_counter()
            cpu = time.process_time()  # all threads: the loop and the SQLite writer
            await asyncio.gather(*(talk(c) for c in range(contacts)))
            elapsed = time.perf_counter() - started
            cpu = time.process_time() - cpu
        finally:
            await engine.close()
    done = per_contact * contacts
    return {
        "bots": bots,
        "turns": done,
        "turns_per_s": done / elapsed,
        "us_per_turn": elapsed / done * 1e6,
        "cpu_us_per_turn": cpu / done * 1e6,
        "train_s": train,
        "setup_s": setup,
        "peak_rss_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
    }


def reference_ms() -> float:
    """Milliseconds for a fixed pure-Python loop: this machine's speed right now."""
    started = time.perf_counter()
    total = 0
    for i in range(3_000_000):
        total += i * i
    return (time.perf_counter() - started) * 1000


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--turns", type=int, default=6000)
    parser.add_argument("--contacts", type=int, default=50)
    parser.add_argument("--bots", type=int, nargs="*", default=[10, 100, 1000])
    parser.add_argument("--repeat", type=int, default=3, help="runs per size (median shown)")
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one is not None:  # a child process: one size, so peak memory is its own
        print(json.dumps(asyncio.run(measure(args.one, args.turns, args.contacts))))
        return
    print(f"python {sys.version.split()[0]}, one process (one thread), SQLite file (WAL)")
    print("CPU µs: process CPU time per turn; the median of --repeat runs per size is shown")
    print(
        f"{'bots':>6} {'turns':>7} {'turns/s':>9} {'µs/turn':>9} {'CPU µs':>7} {'train s':>8} "
        f"{'start s':>8} "
        f"{'peak RSS MB':>12}"
    )
    rows = []
    for bots in args.bots:
        runs = []
        reference = reference_ms()
        for _ in range(args.repeat):
            child = subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--one",
                    str(bots),
                    "--turns",
                    str(args.turns),
                    "--contacts",
                    str(args.contacts),
                ],
                check=True,
                capture_output=True,
                text=True,
            )
            runs.append(json.loads(child.stdout.strip().splitlines()[-1]))
        runs.sort(key=lambda r: r["turns_per_s"])
        row = runs[len(runs) // 2]
        rows.append(row)
        spread = (
            f"  (runs {runs[0]['turns_per_s']:.0f}-{runs[-1]['turns_per_s']:.0f}/s, "
            f"reference loop {reference:.0f} ms)"
        )
        print(
            f"{row['bots']:>6.0f} {row['turns']:>7.0f} {row['turns_per_s']:>9.0f} "
            f"{row['us_per_turn']:>9.0f} {row['cpu_us_per_turn']:>7.0f} {row['train_s']:>8.1f} "
            f"{row['setup_s']:>8.1f} "
            f"{row['peak_rss_mb']:>12.0f}" + spread
        )
    if len(rows) > 1:
        growth = rows[-1]["us_per_turn"] / rows[0]["us_per_turn"]
        print(
            f"cost growth {rows[0]['bots']:.0f} → {rows[-1]['bots']:.0f} bots: {growth:.2f}x "
            "(target <= 1.5x); target >= 3,000 turns/s at 10 bots; memory < 300 MB at 1,000"
        )


if __name__ == "__main__":
    main()
