"""Persistent FIX message store: next sequence numbers and every message we sent.

The session writes an outbound message to the store (and so consumes its sequence number) before it
hands the bytes to the transport, and moves the expected inbound number after it has processed a
message. A process killed at any point therefore restarts with no gap and no duplicate on its own
side: a message stored but never sent is a gap the peer asks for with ResendRequest, and the store
answers it. :class:`SqliteStore` is sqlite in WAL mode, by default with ``synchronous=FULL`` (one
fsync per message); :class:`MemoryStore` is the same contract without persistence.
"""
from __future__ import annotations

import logging
import sqlite3
from pathlib import Path
from typing import Protocol

log = logging.getLogger(__name__)


class StoreError(RuntimeError):
    """The store refused an operation (closed, or inconsistent sequence numbers)."""


class MessageStore(Protocol):
    def next_sender_seq(self) -> int: ...
    def next_target_seq(self) -> int: ...
    def save_sent(self, seq: int, raw: bytes) -> None:
        """Persist message ``seq`` and make ``seq + 1`` the next sender number, atomically."""
    def set_next_sender_seq(self, seq: int) -> None: ...
    def set_next_target_seq(self, seq: int) -> None: ...
    def sent(self, begin: int, end: int) -> list[tuple[int, bytes]]:
        """Stored messages with begin <= seq <= end (end 0 means no upper limit), in order."""
    def reset(self) -> None:
        """Both numbers back to 1 and no stored messages (ResetSeqNumFlag, new FIX day)."""
    def close(self) -> None: ...


class MemoryStore:
    """In-process store: for tests and for sessions whose restart need not resume."""

    def __init__(self) -> None:
        self._sender = 1
        self._target = 1
        self._messages: dict[int, bytes] = {}

    def next_sender_seq(self) -> int:
        return self._sender

    def next_target_seq(self) -> int:
        return self._target

    def save_sent(self, seq: int, raw: bytes) -> None:
        if seq != self._sender:
            raise StoreError(f"saving seq {seq} but next sender seq is {self._sender}")
        self._messages[seq] = raw
        self._sender = seq + 1

    def set_next_sender_seq(self, seq: int) -> None:
        self._sender = seq

    def set_next_target_seq(self, seq: int) -> None:
        self._target = seq

    def sent(self, begin: int, end: int) -> list[tuple[int, bytes]]:
        hi = end if end > 0 else self._sender - 1
        return [(s, self._messages[s]) for s in range(begin, hi + 1) if s in self._messages]

    def reset(self) -> None:
        self._sender = self._target = 1
        self._messages.clear()

    def close(self) -> None:
        pass


class SqliteStore:
    """Sqlite store in WAL mode, one file per session.

    ``synchronous="FULL"`` (default) fsyncs the WAL on every message: survives power loss.
    ``"NORMAL"`` leaves the fsync to checkpoints: a committed message still survives the process
    being killed (kill -9), not an OS crash; it is ~50x faster on a slow disk.
    """

    SYNC_MODES = ("FULL", "NORMAL")

    _SCHEMA = """
    CREATE TABLE IF NOT EXISTS seqnums (
        id INTEGER PRIMARY KEY CHECK (id = 0),
        next_sender INTEGER NOT NULL,
        next_target INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS messages (seq INTEGER PRIMARY KEY, raw BLOB NOT NULL);
    INSERT OR IGNORE INTO seqnums (id, next_sender, next_target) VALUES (0, 1, 1);
    """

    def __init__(self, path: str | Path, synchronous: str = "FULL") -> None:
        if synchronous not in self.SYNC_MODES:
            raise ValueError(f"synchronous must be one of {self.SYNC_MODES}, got {synchronous!r}")
        self.path = Path(path)
        self._db: sqlite3.Connection | None = sqlite3.connect(self.path, isolation_level=None)
        mode = self._db.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if str(mode).lower() != "wal":
            raise StoreError(f"{self.path}: sqlite refused WAL mode (got {mode!r})")
        self._db.execute(f"PRAGMA synchronous={synchronous}")
        self._db.executescript(self._SCHEMA)
        self._sender, self._target = self._db.execute(
            "SELECT next_sender, next_target FROM seqnums WHERE id = 0").fetchone()
        log.info("FIX store %s: next sender seq %d, next target seq %d", self.path, self._sender, self._target)

    @property
    def db(self) -> sqlite3.Connection:
        if self._db is None:
            raise StoreError(f"store {self.path} is closed")
        return self._db

    def next_sender_seq(self) -> int:
        return self._sender

    def next_target_seq(self) -> int:
        return self._target

    def save_sent(self, seq: int, raw: bytes) -> None:
        if seq != self._sender:
            raise StoreError(f"saving seq {seq} but next sender seq is {self._sender}")
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("INSERT OR REPLACE INTO messages (seq, raw) VALUES (?, ?)", (seq, raw))
            db.execute("UPDATE seqnums SET next_sender = ? WHERE id = 0", (seq + 1,))
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        self._sender = seq + 1

    def set_next_sender_seq(self, seq: int) -> None:
        self.db.execute("UPDATE seqnums SET next_sender = ? WHERE id = 0", (seq,))
        self._sender = seq

    def set_next_target_seq(self, seq: int) -> None:
        self.db.execute("UPDATE seqnums SET next_target = ? WHERE id = 0", (seq,))
        self._target = seq

    def sent(self, begin: int, end: int) -> list[tuple[int, bytes]]:
        hi = end if end > 0 else self._sender - 1
        rows = self.db.execute("SELECT seq, raw FROM messages WHERE seq BETWEEN ? AND ? ORDER BY seq",
                               (begin, hi)).fetchall()
        return [(int(s), bytes(r)) for s, r in rows]

    def reset(self) -> None:
        db = self.db
        db.execute("BEGIN IMMEDIATE")
        db.execute("DELETE FROM messages")
        db.execute("UPDATE seqnums SET next_sender = 1, next_target = 1 WHERE id = 0")
        db.execute("COMMIT")
        self._sender = self._target = 1

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
