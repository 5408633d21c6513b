"""HTTP load on loopback: the REST channel of examples/clinic vs a bare FastAPI echo.

Both servers run as one uvicorn worker each, in their own processes; this
script is the load generator (asyncio, raw HTTP/1.1 keep-alive connections,
so the client costs little). For each target it finds the maximum throughput
with a closed loop of ``--connections`` connections, then measures p50/p99
latency in an open loop at half that rate. Conversations are spread over
``--contacts`` contacts, each a normal greeting → triage → assessment hand-off.

On a machine with two cores or more, each server runs on core 0 and the
generator on core 1 (``--no-pin`` lets the scheduler place them), and the
generator's garbage collector is off while it measures, so neither side's
pauses are charged to the other.

The two servers take turns for ``--rounds`` rounds (echo, Baton, echo, Baton...)
and the figures are the medians of the rounds: this VM's speed drifts by
±15% from minute to minute, which, with one phase each, moved the ratio by
±0.05 from run to run.

Run from the repository root: ``python bench/http_load.py`` (``--seconds`` per phase).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse

REPO = Path(__file__).resolve().parents[1]
CLINIC = REPO / "examples" / "clinic"
TEXTS = ("hi", "I've been feeling low", "1", "one, I think", "no", "tomorrow")


def echo_app() -> Any:
    """The reference: a bare FastAPI endpoint echoing the same JSON."""
    app = FastAPI()

    @app.post("/channels/rest/webhook")
    async def echo(request: Request) -> JSONResponse:
        return JSONResponse(await request.json())

    return app


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


@dataclass
class Server:
    """A uvicorn process."""

    process: subprocess.Popen[bytes]
    port: int

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(20)


SERVER_CORES, CLIENT_CORES = {0}, {1}


def start(target: str, env: dict[str, str], *, pin: bool) -> Server:
    port = _free_port()
    command = [
        sys.executable, "-m", "uvicorn", "--factory", target, "--host", "127.0.0.1",
        "--port", str(port), "--log-level", "warning", "--no-access-log",
        "--http", "httptools", "--loop", "uvloop",
    ]  # fmt: skip
    process = subprocess.Popen(
        command,
        env={**os.environ, **env, "PYTHONPATH": f"{REPO / 'src'}{os.pathsep}{REPO}"},
        cwd=REPO,
        preexec_fn=(lambda: os.sched_setaffinity(0, SERVER_CORES)) if pin else None,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and process.poll() is None:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return Server(process, port)
        except OSError:
            time.sleep(0.1)
    process.kill()
    raise RuntimeError(f"{target} did not start")


class Connection:
    """One keep-alive HTTP/1.1 connection."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def post(self, body: bytes) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection("127.0.0.1", self.port)
        assert self.reader is not None
        head = (
            f"POST /channels/rest/webhook HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        ).encode()
        self.writer.write(head + body)
        status_line = await self.reader.readline()
        length = 0
        while (line := await self.reader.readline()) not in (b"\r\n", b""):
            name, _, value = line.partition(b":")
            if name.lower() == b"content-length":
                length = int(value)
        await self.reader.readexactly(length)
        return int(status_line.split()[1])

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


def bodies(contacts: int, run: str, order: str = "mixed", group: int = 100) -> list[bytes]:
    """Every contact walks through TEXTS, one message per slot, in staggered groups.

    Group ``g`` of ``group`` contacts sends its first text in slot ``g``, its
    second in slot ``g + 1``, and so on; within a slot the groups' messages
    alternate. So each slot mixes every step of the conversation (one message
    in six opens a new contact and conversation, the rest continue one), and a
    contact's messages are a slot (at least ``group`` messages) apart. Sending the
    same step to a hundred contacts in a row (``order="blocks"``, this bench's
    first order) made the costliest step arrive as one long burst, which real
    traffic does not, and kept every write among a hundred neighbouring rows.
    """
    if order == "blocks":
        return [
            json.dumps({"sender": f"{run}-{contact}", "message": text}).encode()
            for block in range(0, contacts, group)
            for text in TEXTS
            for contact in range(block, min(block + group, contacts))
        ]
    groups = -(-contacts // group)
    out = []
    for slot in range(groups + len(TEXTS) - 1):
        for member in range(group):
            for step, text in enumerate(TEXTS):
                contact = (slot - step) * group + member
                if 0 <= slot - step < groups and contact < contacts:
                    message = {"sender": f"{run}-{contact}", "message": text}
                    out.append(json.dumps(message).encode())
    return out


async def closed_loop(port: int, work: list[bytes], connections: int, seconds: float) -> float:
    """Requests per second with ``connections`` busy connections."""
    index = 0
    done = 0
    errors = 0
    stop = time.perf_counter() + seconds

    async def worker() -> None:
        nonlocal index, done, errors
        connection = Connection(port)
        try:
            while time.perf_counter() < stop and index < len(work):
                body = work[index]
                index += 1
                if await connection.post(body) != 200:
                    errors += 1
                done += 1
        finally:
            connection.close()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(connections)))
    elapsed = time.perf_counter() - started
    if errors:
        print(f"  ! {errors} non-200 answers", file=sys.stderr)
    return done / elapsed


async def open_loop(
    port: int, work: list[bytes], rate: float, seconds: float, connections: int
) -> tuple[float, float, float]:
    """Latency (p50, p99 in ms) and achieved rate, sending at ``rate`` per second."""
    pool: asyncio.Queue[Connection] = asyncio.Queue()
    for _ in range(connections):
        pool.put_nowait(Connection(port))
    latencies: list[float] = []
    total = min(len(work), int(rate * seconds))
    tasks = []

    async def one(body: bytes, due: float) -> None:
        connection = await pool.get()
        try:
            await connection.post(body)
        finally:
            pool.put_nowait(connection)
        latencies.append(time.perf_counter() - due)  # from when it should have been sent

    started = time.perf_counter()
    for i in range(total):
        due = started + i / rate
        delay = due - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        tasks.append(asyncio.create_task(one(work[i], due)))
    await asyncio.gather(*tasks)
    elapsed = time.perf_counter() - started
    while not pool.empty():
        pool.get_nowait().close()
    latencies.sort()
    p50 = statistics.median(latencies) * 1000
    p99 = latencies[int(len(latencies) * 0.99) - 1] * 1000
    return p50, p99, total / elapsed


def measure(name: str, server: Server, args: argparse.Namespace, run: str) -> dict[str, float]:
    """One round against one server: warm up, find the maximum, then latency at half."""
    warm = bodies(200, f"{run}-warm", args.order)
    asyncio.run(closed_loop(server.port, warm, args.connections, 2.0))
    peak = asyncio.run(
        closed_loop(
            server.port,
            bodies(args.contacts, f"{run}-peak", args.order),
            args.connections,
            args.seconds,
        )
    )
    p50, p99, achieved = asyncio.run(
        open_loop(
            server.port,
            bodies(args.contacts, f"{run}-half", args.order),
            peak / 2,
            args.seconds,
            args.connections * 2,
        )
    )
    print(
        f"{name:>12}: {peak:8.0f} msg/s max; at {peak / 2:.0f}/s (got {achieved:.0f}/s) "
        f"p50 {p50:.2f} ms, p99 {p99:.2f} ms"
    )
    return {"max_per_s": peak, "half_rate": peak / 2, "p50_ms": p50, "p99_ms": p99}


def summary(rounds: list[dict[str, float]]) -> dict[str, float]:
    """The medians of a server's rounds, and its worst p99."""
    return {
        "max_per_s": statistics.median(r["max_per_s"] for r in rounds),
        "p50_ms": statistics.median(r["p50_ms"] for r in rounds),
        "p99_ms": statistics.median(r["p99_ms"] for r in rounds),
        "worst_p99_ms": max(r["p99_ms"] for r in rounds),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=8.0, help="length of each phase")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--contacts", type=int, default=5000, help="distinct senders")
    parser.add_argument("--rounds", type=int, default=3, help="echo and Baton rounds, alternated")
    parser.add_argument(
        "--order", choices=("mixed", "blocks"), default="mixed", help="see bodies()"
    )
    parser.add_argument("--no-pin", action="store_true", help="don't pin to cores")
    parser.add_argument("--json", type=Path, help="also write the figures here")
    args = parser.parse_args()
    pin = (
        not args.no_pin
        and hasattr(os, "sched_setaffinity")  # Linux
        and len(os.sched_getaffinity(0)) >= 2
    )
    if pin:
        os.sched_setaffinity(0, CLIENT_CORES)
    gc.disable()  # the generator's own pauses would count as the server's latency
    rounds: dict[str, list[dict[str, float]]] = {"bare_echo": [], "baton_rest": []}
    with tempfile.TemporaryDirectory() as tmp:
        project = Path(tmp) / "clinic"
        shutil.copytree(CLINIC, project, ignore=shutil.ignore_patterns("*.db*"))
        env = {
            "BATON_PROJECT": str(project),
            "BATON_DATABASE_URL": f"sqlite+aiosqlite:///{tmp}/bench.db",
            "BATON_CONTACT_RATE_PER_MINUTE": "1000000",
        }
        # Both servers stay up (the idle one costs nothing) and take turns, so a drift
        # of the machine's speed during the run weighs on both alike.
        echo = start("bench.http_load:echo_app", {}, pin=pin)
        try:
            baton = start("baton.server.app:app_from_env", env, pin=pin)
            try:
                for n in range(1, args.rounds + 1):
                    print(f"round {n} of {args.rounds}")
                    rounds["bare_echo"].append(measure("bare echo", echo, args, f"e{n}"))
                    rounds["baton_rest"].append(measure("baton REST", baton, args, f"b{n}"))
            finally:
                baton.stop()
        finally:
            echo.stop()
    results = {name: summary(runs) for name, runs in rounds.items()}
    ratio = results["baton_rest"]["max_per_s"] / results["bare_echo"]["max_per_s"]
    each = [b["max_per_s"] / e["max_per_s"] for e, b in zip(*rounds.values(), strict=True)]
    baton_result = results["baton_rest"]
    print(
        f"medians of {args.rounds} rounds: Baton {baton_result['max_per_s']:.0f} msg/s, "
        f"echo {results['bare_echo']['max_per_s']:.0f} msg/s; Baton p99 at half load "
        f"{baton_result['p99_ms']:.1f} ms (worst round {baton_result['worst_p99_ms']:.1f} ms)"
    )
    print(
        f"baton / bare throughput: {ratio:.2f} (rounds: {', '.join(f'{r:.2f}' for r in each)}; "
        f"{args.order} order, pinned: {pin})"
    )
    if args.json:
        figures = {**results, "rounds": rounds, "ratio": ratio, "round_ratios": each}
        args.json.write_text(json.dumps(figures, indent=2))


if __name__ == "__main__":
    main()
