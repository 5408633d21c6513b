"""The write-ahead log of a SQLite file, checkpointed and restarted off the turn path.

Left to itself, SQLite checkpoints in the commit that takes the log past
``wal_autocheckpoint`` pages: that commit syncs the log, copies it into the
database and syncs the database. Turns commit on the event loop's thread
(``sqlite_writer``), so every server request waited for those syncs; in the
HTTP bench they were 15-23 ms stalls of the whole loop every second or two,
the slowest requests of the run.

A checkpoint copied in the background is not enough on its own: the log only
starts over from its first page when a writer finds every frame copied, which
under steady load never happens, so it grows until the commit's own
checkpoint fires anyway (and a long log slows every read, which must look
through it). So a thread with its own connection, every ``interval`` seconds:

- runs a ``PASSIVE`` checkpoint (copies what it can, blocks nobody);
- when the log is past ``restart_frames`` pages, runs a ``RESTART``
  checkpoint: it holds the write lock while it copies the few frames written
  since and syncs, so the next commit starts the log over. It first takes
  ``writer_lock``, the lock of this process's writer connection, so it never
  waits for this process's own commits, and they never poll for its lock: a
  batch that finds the lock held goes to the writer thread, which is woken
  the moment the checkpoint ends (SQLite's busy handler would sleep 1, 2, 5,
  10 ms... between tries). The loop goes on serving.

While a ``RESTART`` is pending, new writers wait, and it waits for readers
still on the old log (another process's long query, say) to finish. So it is
not tried while the ``PASSIVE`` pass found frames a reader still needs; it
gives up after ``busy_timeout_ms`` (100 ms); and after giving up it waits
twice as many rounds each time (up to ``MAX_BACKOFF_ROUNDS``), rather than hold
every turn up behind a slow reader.

The writer's own connection keeps a far higher ``wal_autocheckpoint``
(``FALLBACK_FACTOR`` times) as a bound should this thread fall behind.
"""

from __future__ import annotations

import logging
import os
import sqlite3
import threading

log = logging.getLogger(__name__)

#: the writer's own checkpoint fires only this many times further along than ours
FALLBACK_FACTOR = 4
#: after RESTARTs that found a reader still on the log, at most this many rounds pass
#: (doubling from one) before the next try
MAX_BACKOFF_ROUNDS = 32


class WalCheckpointer:
    """A thread that checkpoints (and restarts) one SQLite file's write-ahead log."""

    def __init__(
        self,
        path: str,
        *,
        restart_frames: int,
        interval: float = 0.25,
        busy_timeout_ms: int = 100,
        writer_lock: threading.Lock | None = None,
    ) -> None:
        self.path = path
        self.restart_frames = restart_frames
        self.interval = interval
        self.busy_timeout_ms = busy_timeout_ms
        self.restarts = 0
        self._writer_lock = writer_lock or threading.Lock()
        self._backoff = 1
        self._rounds_to_wait = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="baton-sqlite-wal", daemon=True)
        #: why the file can't be trusted any more (deleted or replaced while open), or None
        self.lost: str | None = None
        self._identity: tuple[int, int] | None = None

    def start(self) -> None:
        """Start checkpointing (and watching that the file is still the one opened)."""
        self._identity = _identity(self.path)
        self._thread.start()

    def still_there(self) -> bool:
        """Whether the path still names the file opened. SQLite keeps writing into a file
        that was deleted (or moved aside and replaced) while open: every turn after that
        was acknowledged and lost at the next start, without a word."""
        if self.lost is None and self._identity is not None:
            now = _identity(self.path)
            if now != self._identity:
                gone = "deleted" if now is None else "replaced by another file"
                self.lost = f"the database file {self.path} was {gone} while in use"
                log.error("%s: turns are refused until baton restarts", self.lost)
        return self.lost is None

    def stop(self) -> None:
        """Stop after the checkpoint under way, if any."""
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()

    def checkpoint(self, connection: sqlite3.Connection) -> None:
        """One round: copy the log back, and start it over if it has grown long and no
        reader holds on to it."""
        _busy, frames, copied = connection.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        if frames < self.restart_frames or self._rounds_to_wait > 0:
            self._rounds_to_wait = max(self._rounds_to_wait - 1, 0)
            return
        if copied < frames:  # a reader still needs the frames it could not copy: a
            return  # RESTART would hold every writer up while it waits for that reader
        with self._writer_lock:
            restart = connection.execute("PRAGMA wal_checkpoint(RESTART)")
            busy, _frames, _copied = restart.fetchone()
        if busy:  # a reader was still on the log: wait longer before holding writers again
            self._backoff = min(self._backoff * 2, MAX_BACKOFF_ROUNDS)
            self._rounds_to_wait = self._backoff
        else:
            self._backoff = 1
            self.restarts += 1

    def _run(self) -> None:
        connection = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        try:
            connection.execute(f"PRAGMA busy_timeout={self.busy_timeout_ms}")
            while not self._stop.wait(self.interval):
                if not self.still_there():
                    continue  # never checkpoint into a file nobody will open again
                try:
                    self.checkpoint(connection)
                except sqlite3.Error as exc:  # the writer's own checkpoint is the fallback
                    log.warning("background WAL checkpoint of %s failed: %s", self.path, exc)
        finally:
            connection.close()


def _identity(path: str) -> tuple[int, int] | None:
    """The file's device and inode, or None when nothing is there."""
    try:
        found = os.stat(path)
    except OSError:
        return None
    return found.st_dev, found.st_ino
