"""Message stores: the same contract in memory and in sqlite, and persistence across reopen."""
from __future__ import annotations

import pytest

from control.fix.messages import Message
from control.fix.session import Role, Session, SessionConfig
from control.fix.store import MemoryStore, SqliteStore, StoreError


@pytest.fixture(params=["memory", "sqlite"])
def store(request, tmp_path):
    s = MemoryStore() if request.param == "memory" else SqliteStore(tmp_path / "s.db")
    yield s
    s.close()


def test_contract(store):
    assert (store.next_sender_seq(), store.next_target_seq()) == (1, 1)
    store.save_sent(1, b"one")
    store.save_sent(2, b"two")
    with pytest.raises(StoreError):
        store.save_sent(5, b"gap")
    store.set_next_target_seq(7)
    assert store.next_sender_seq() == 3 and store.next_target_seq() == 7
    assert store.sent(1, 0) == [(1, b"one"), (2, b"two")]
    assert store.sent(2, 2) == [(2, b"two")]
    store.reset()
    assert (store.next_sender_seq(), store.next_target_seq(), store.sent(1, 0)) == (1, 1, [])


def test_sqlite_survives_reopen(tmp_path):
    path = tmp_path / "fix.db"
    s = SqliteStore(path)
    s.save_sent(1, b"a\x01b")
    s.set_next_target_seq(4)
    del s  # no close: as after a crash, the WAL holds the committed rows
    s2 = SqliteStore(path)
    assert (s2.next_sender_seq(), s2.next_target_seq(), s2.sent(1, 0)) == (2, 4, [(1, b"a\x01b")])
    s2.close()
    with pytest.raises(StoreError):
        s2.sent(1, 0)


def test_session_resumes_numbers_from_store(tmp_path):
    class Clock:
        def time_ns(self) -> int:
            return 1_764_150_000_000_000_000

    path = tmp_path / "init.db"
    store = SqliteStore(path)
    store.set_next_sender_seq(10)
    store.set_next_target_seq(20)
    store.close()
    s = Session(SessionConfig("A", "B", Role.INITIATOR), SqliteStore(path), Clock())
    (logon,) = s.connection_made()
    assert logon.seq == 10
    assert Message("x").msg_type == "x"
    assert s.store.next_sender_seq() == 11 and s.store.next_target_seq() == 20


def test_sqlite_sync_mode_checked(tmp_path):
    with pytest.raises(ValueError, match="synchronous"):
        SqliteStore(tmp_path / "x.db", synchronous="OFF")
    s = SqliteStore(tmp_path / "n.db", synchronous="NORMAL")
    s.save_sent(1, b"x")
    s.close()
    reopened = SqliteStore(tmp_path / "n.db")
    assert reopened.next_sender_seq() == 2
    reopened.close()
