"""Restart after kill -9: a real initiator process streaming quotes to our venue acceptor is killed
with SIGKILL mid-stream and started again on the same sqlite store. The session resumes with no gap
and no duplicate sequence number, and the venue's ResendRequest is answered from the store."""
from __future__ import annotations

import asyncio
import signal
import sys

from control.fix.acceptor import Acceptor, AcceptorApp, AcceptorConfig, Counterparty
from control.fix.loopback import OUR_ID, VENUE_ID
from control.fix.session import SystemClock
from control.fix.store import SqliteStore

TIMEOUT = 30.0
ROLLBACK = 5


async def _until(pred, what: str) -> None:
    loop = asyncio.get_running_loop()
    deadline = loop.time() + TIMEOUT
    while not pred():
        if loop.time() > deadline:
            raise TimeoutError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def _initiator(port: int, store: str, count: int, cwd: str) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable, "-m", "control.fix.loopback", "initiator", "--port", str(port), "--store", store,
        "--count", str(count), "--interval", "0.002", cwd=cwd,
        stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.PIPE)


def test_initiator_restart_after_sigkill_no_gap_no_duplicate(tmp_path):
    db = str(tmp_path / "initiator.db")

    async def main():
        clock = SystemClock()
        venue = Acceptor(AcceptorConfig(VENUE_ID, (Counterparty(OUR_ID),)), AcceptorApp(clock, venue=True), clock)
        port = await venue.start()
        got = venue.app.received
        proc = await _initiator(port, db, 100_000, str(tmp_path))
        try:
            await _until(lambda: len(got) >= 60, "60 quotes before the kill")
        finally:
            proc.send_signal(signal.SIGKILL)
            await proc.wait()
        assert proc.returncode == -signal.SIGKILL
        await _until(lambda: not venue.directory.is_active(OUR_ID), "the venue to see the connection drop")
        before = list(got)
        killed_store = SqliteStore(db)
        next_after_kill = killed_store.next_sender_seq()
        killed_store.close()
        # The venue lost the tail of what it had received: on logon it sees a gap and asks for a resend,
        # which only the initiator's persistent store can answer.
        venue_store = venue.directory.store(OUR_ID)
        expected_before = venue_store.next_target_seq()
        venue_store.set_next_target_seq(expected_before - ROLLBACK)

        proc2 = await _initiator(port, db, 40, str(tmp_path))
        out, err = await asyncio.wait_for(proc2.communicate(), TIMEOUT)
        assert proc2.returncode == 0, err.decode()[-2000:]
        await _until(lambda: not venue.directory.is_active(OUR_ID), "the second session to end")
        await venue.stop()
        final = SqliteStore(db)
        final_next = final.next_sender_seq()
        final.close()
        return before, list(got), next_after_kill, expected_before, venue_store.next_target_seq(), final_next

    before, after, next_after_kill, expected_before, venue_next, final_next = asyncio.run(main())

    # No gap: the venue processed every number up to the initiator's last one, in order.
    assert venue_next == final_next
    # The store was ahead of or equal to what the venue saw (stored before sent), never behind.
    assert next_after_kill >= expected_before
    fresh = [r.seq for r in after if not r.poss_dup]
    assert fresh == sorted(set(fresh)), "a sequence number was used twice"
    assert all(s < next_after_kill for s in [r.seq for r in before])
    assert all(s > next_after_kill for s in [r.seq for r in after[len(before):] if not r.poss_dup])
    # The rolled-back numbers came back from the store as PossDup resends (admin ones as gap fill).
    resent = {r.seq for r in after[len(before):] if r.poss_dup}
    lost_app = {r.seq for r in before if r.seq >= expected_before - ROLLBACK}
    assert lost_app and lost_app <= resent
    assert resent <= set(range(expected_before - ROLLBACK, next_after_kill))
    assert sum(not r.poss_dup for r in after[len(before):]) == 40
