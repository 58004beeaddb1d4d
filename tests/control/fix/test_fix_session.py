"""Session scenarios from FIX 4.4 Volume 2 (session test cases), driven byte by byte (sans-IO)."""
from __future__ import annotations

import pytest

from control.fix.messages import Message, parse
from control.fix.session import Role, Session, SessionConfig, SessionNotActive, SessionState
from control.fix.store import MemoryStore
from control.fix.validation import InvalidMessage

QR = [(131, "RFQ-1"), (146, 1), (55, "BTC-27DEC26-100000-C")]


def test_logon_accepted(logged_on, h):
    assert logged_on.state is SessionState.ACTIVE
    assert logged_on.next_target_seq == 2 and logged_on.next_sender_seq == 2


def test_logon_reply_fields(acceptor, peer, h):
    reply = h.sends(acceptor.data_received(peer.logon(hb=15, extra=[(554, "s3cret")])))[0]
    assert reply.fields()[:7][2:] == [(35, b"A"), (34, b"1"), (49, b"DESK"), (52, reply.value(52)), (56, b"CLIENT")]
    assert reply.value(98) == b"0" and reply.value(108) == b"15"
    assert len(reply.value(52)) == len("20251126-09:40:00.000")


def test_logon_bad_password_logout_with_text(acceptor, peer, h):
    acts = acceptor.data_received(peer.logon(extra=[(554, "wrong")]))
    out = h.sends(acts)
    assert [m.msg_type for m in out] == ["5"] and b"Password" in out[0].value(58)
    assert h.disconnects(acts) and acceptor.state is SessionState.DISCONNECTED


def test_logon_bad_compid_logout_with_text(acceptor, peer, h):
    acts = acceptor.data_received(peer.logon(extra=[(554, "s3cret")], sender="INTRUDER"))
    out = h.sends(acts)
    assert [m.msg_type for m in out] == ["5"] and out[0].value(58) == b"CompID problem"
    assert h.disconnects(acts)


def test_first_message_not_logon_disconnects(acceptor, peer, h):
    acts = acceptor.data_received(peer.raw("0"))
    assert h.sends(acts) == [] and h.disconnects(acts)


def test_heartbeat_and_test_request_reply(logged_on, peer, clock, h):
    out = h.sends(logged_on.data_received(peer.raw("1", [(112, "T1")])))
    assert [(m.msg_type, m.value(112)) for m in out] == [("0", b"T1")]
    assert logged_on.next_target_seq == 3


def test_seq_too_high_sends_resend_request_then_gap_fill_releases_queue(logged_on, peer, h):
    peer.seq = 5
    out = h.sends(logged_on.data_received(peer.raw("R", QR)))
    assert [(m.msg_type, m.value(7), m.value(16)) for m in out] == [("2", b"2", b"0")]
    assert logged_on.next_target_seq == 2
    # The peer gap-fills 2..4 (admin messages), then the queued QuoteRequest (5) is delivered.
    acts = logged_on.data_received(peer.raw("4", [(123, "Y"), (36, 5)], seq=2, possdup=True,
                                            orig_sending_ns=h.T0))
    got = h.delivered(acts)
    assert [m.msg_type for m in got] == ["R"] and got[0].value(34) == b"5"
    assert logged_on.next_target_seq == 6


def test_seq_too_high_resent_with_possdup_delivered_in_order(logged_on, peer, h):
    peer.seq = 4
    logged_on.data_received(peer.raw("R", [(131, "C")] + QR[1:]))
    a = h.feed(logged_on, peer.raw("R", [(131, "A")] + QR[1:], seq=2, possdup=True, orig_sending_ns=h.T0))
    b = h.feed(logged_on, peer.raw("R", [(131, "B")] + QR[1:], seq=3, possdup=True, orig_sending_ns=h.T0))
    assert [m.value(131) for m in h.delivered(a) + h.delivered(b)] == [b"A", b"B", b"C"]
    assert logged_on.next_target_seq == 5


def test_one_resend_request_per_gap(logged_on, peer, h):
    peer.seq = 5
    first = h.sends(logged_on.data_received(peer.raw("0")))
    second = h.sends(logged_on.data_received(peer.raw("0")))
    assert [m.msg_type for m in first] == ["2"] and second == []


def test_seq_too_low_without_possdup_logs_out(logged_on, peer, h):
    acts = logged_on.data_received(peer.raw("0", seq=1))
    out = h.sends(acts)
    assert [m.msg_type for m in out] == ["5"]
    assert out[0].value(58) == b"MsgSeqNum too low, expecting 2 but received 1"
    assert h.disconnects(acts)


def test_possdup_duplicate_ignored(logged_on, peer, h):
    logged_on.data_received(peer.raw("R", QR))
    acts = logged_on.data_received(peer.raw("R", QR, seq=2, possdup=True, orig_sending_ns=h.T0))
    assert acts == [] and logged_on.stats.duplicates_ignored == 1
    assert logged_on.next_target_seq == 3


def test_possdup_without_orig_sending_time_rejected(logged_on, peer, h):
    logged_on.data_received(peer.raw("0"))
    out = h.sends(logged_on.data_received(peer.raw("0", seq=2, possdup=True)))
    assert [(m.msg_type, m.value(373), m.value(371)) for m in out] == [("3", b"1", b"122")]


def test_heartbeat_timeout_test_request_then_disconnect(logged_on, clock, h):
    clock.advance(30)
    assert [m.msg_type for m in h.sends(logged_on.tick())] == ["0"]
    clock.advance(6)  # 36 s = 1.2 x HeartBtInt of silence
    out = h.sends(logged_on.tick())
    assert [m.msg_type for m in out] == ["1"] and out[0].value(112)
    clock.advance(36.1)  # 2.4 x HeartBtInt
    acts = logged_on.tick()
    assert h.disconnects(acts) and logged_on.state is SessionState.DISCONNECTED


def test_test_request_answered_keeps_session(logged_on, peer, clock, h):
    clock.advance(36)
    tr = h.sends(logged_on.tick())[-1]
    logged_on.data_received(peer.raw("0", [(112, tr.value(112))]))
    clock.advance(40)
    assert not h.disconnects(logged_on.tick())


def test_garbled_checksum_and_length_dropped_without_consuming_seq(logged_on, peer, h):
    good = peer.raw("0")
    bad_sum = good[:-4] + (b"%03d" % ((int(good[-4:-1]) + 1) % 256)) + b"\x01"
    assert logged_on.data_received(bad_sum) == []
    bad_len = good.replace(b"\x019=", b"\x019=1", 1)
    assert logged_on.data_received(bad_len + peer.raw("0", seq=2)) == []
    assert logged_on.next_target_seq == 3
    assert logged_on.stats.garbled == 2


def test_wrong_begin_string_logs_out(logged_on, peer, h):
    raw = peer.raw("0")
    body = raw[raw.index(b"\x0135=") + 1: raw.rindex(b"10=")]
    head = b"8=FIX.4.2\x019=%d\x01" % len(body)
    msg = head + body
    msg += b"10=%03d\x01" % (sum(msg) % 256)
    acts = logged_on.data_received(msg)
    assert [m.msg_type for m in h.sends(acts)] == ["5"] and h.disconnects(acts)


@pytest.mark.parametrize(
    ("msg_type", "body", "reason", "ref_tag"),
    [
        ("0", [(0, "x")], 0, 0),
        ("0", [(7777, "x")], 2, 7777),
        ("0", [(99999, "x")], 0, 99999),
        ("R", [(146, 1), (55, "X")], 1, 131),
        ("1", [(112, "a"), (44, "1.5")], 2, 44),
        ("R", [(131, "r"), (146, 1), (55, "X"), (303, 7)], 5, 303),
        ("S", [(117, "q"), (132, "abc")], 6, 132),
        ("S", [(117, "q"), (62, "20251126-25:00:00")], 6, 62),
        ("ZZ", [], 11, 35),
        ("1", [(112, "a"), (112, "b")], 13, 112),
        ("1", [(112, "a"), (49, "CLIENT")], 14, 49),
        ("R", [(131, "r"), (146, 2), (55, "X")], 16, 146),
        ("R", [(131, "r"), (146, 1), (55, "X"), (55, "Y")], 16, 146),
        ("Z", [(117, "q"), (298, 1), (295, 1), (65, "sfx"), (55, "X")], 15, 65),
        ("1", [(112, "")], 4, 112),
    ],
)
def test_session_reject_reasons_and_seq_consumed(logged_on, peer, h, msg_type, body, reason, ref_tag):
    acts = logged_on.data_received(peer.raw(msg_type, body))
    out = h.sends(acts)
    assert [m.msg_type for m in out] == ["3"], out
    rej = out[0]
    assert (rej.as_int(45), rej.as_int(373), rej.as_int(371)) == (2, reason, ref_tag)
    assert rej.text(372) == msg_type
    assert not h.delivered(acts) and logged_on.state is SessionState.ACTIVE
    # the inbound number was consumed: the next message is in sequence (no ResendRequest)
    assert h.sends(logged_on.data_received(peer.raw("0"))) == []
    assert logged_on.next_target_seq == 4


def test_compid_problem_reject_then_logout(logged_on, peer, h):
    acts = logged_on.data_received(peer.raw("0", sender="OTHER"))
    out = h.sends(acts)
    assert [(m.msg_type, m.value(373)) for m in out] == [("3", b"9"), ("5", None)]
    assert h.disconnects(acts)


def test_sending_time_accuracy_reject_then_logout(logged_on, peer, h):
    acts = logged_on.data_received(peer.raw("0", sending_ns=h.T0 - 600 * 10**9))
    out = h.sends(acts)
    assert [(m.msg_type, m.value(373), m.value(371)) for m in out] == [("3", b"10", b"52"), ("5", None, None)]
    assert h.disconnects(acts)


def test_unsupported_valid_msg_type_gets_business_reject(logged_on, peer, h):
    out = h.sends(logged_on.data_received(peer.raw("V", [(262, "md")])))
    assert [(m.msg_type, m.value(380), m.value(372)) for m in out] == [("j", b"3", b"V")]
    assert logged_on.next_target_seq == 3


def test_sequence_reset_reset_mode_and_lowering_rejected(logged_on, peer, h):
    logged_on.data_received(peer.raw("4", [(36, 10)], seq=99))
    assert logged_on.next_target_seq == 10
    out = h.sends(logged_on.data_received(peer.raw("4", [(36, 5)], seq=10)))
    assert [(m.msg_type, m.value(373), m.value(371)) for m in out] == [("3", b"5", b"36")]
    assert logged_on.next_target_seq == 10


def test_resend_request_answered_with_possdup_and_gap_fill(logged_on, peer, clock, h):
    for i in range(2):
        logged_on.send(Message("S").add(117, f"q{i}").add(55, "BTC").add(132, 1.5))   # seq 2, 3
    clock.advance(30)
    logged_on.tick()                                                                # heartbeat, seq 4
    logged_on.send(Message("S").add(117, "q2").add(55, "BTC"))                      # seq 5
    clock.advance(1)
    out = h.sends(logged_on.data_received(peer.raw("2", [(7, 1), (16, 0)])))
    summary = [(m.msg_type, m.as_int(34), m.value(43), m.as_int(36)) for m in out]
    assert summary == [("4", 1, b"Y", 2), ("S", 2, b"Y", None), ("S", 3, b"Y", None),
                       ("4", 4, b"Y", 5), ("S", 5, b"Y", None)]
    resent = out[1]
    assert resent.value(122) is not None and resent.value(122) < resent.value(52)
    assert [t for t, _ in resent.fields()][:9] == [8, 9, 35, 34, 43, 49, 52, 56, 122]
    assert logged_on.next_sender_seq == 6  # resends do not consume numbers


def test_peer_logout_is_answered(logged_on, peer, h):
    acts = logged_on.data_received(peer.raw("5", [(58, "bye")]))
    assert [m.msg_type for m in h.sends(acts)] == ["5"] and h.disconnects(acts)


def test_our_logout_waits_for_reply_or_timeout(logged_on, peer, clock, h):
    assert [m.msg_type for m in h.sends(logged_on.logout("eod"))] == ["5"]
    assert logged_on.state is SessionState.LOGOUT_SENT
    clock.advance(2.5)
    assert h.disconnects(logged_on.tick())


def test_send_requires_active_session(clock):
    s = Session(SessionConfig("A", "B", Role.INITIATOR), MemoryStore(), clock)
    with pytest.raises(SessionNotActive):
        s.send(Message("S").add(117, "q"))


def test_outbound_validation_refuses_bad_message_without_consuming_seq(logged_on):
    with pytest.raises(InvalidMessage):
        logged_on.send(Message("S").add(55, "BTC"))  # QuoteID(117) missing
    assert logged_on.next_sender_seq == 2


def test_initiator_logon_and_reset(clock, h):
    store = MemoryStore()
    store.set_next_sender_seq(40)
    s = Session(SessionConfig("QG", "VENUE", Role.INITIATOR, heartbeat_interval_s=5, reset_on_logon=True,
                              username="u", password="p"), store, clock)
    logon = h.sends(s.connection_made())[0]
    assert (logon.as_int(34), logon.value(141), logon.value(553), logon.value(554)) == (1, b"Y", b"u", b"p")
    assert s.state is SessionState.LOGON_SENT
    venue = h.Peer("VENUE", "QG", clock)
    acts = s.data_received(venue.logon(hb=5, extra=[(141, "Y")]))
    assert s.state is SessionState.ACTIVE and any(type(a).__name__ == "LoggedOn" for a in acts)


def test_initiator_logon_refused_by_logout(clock, h):
    s = Session(SessionConfig("QG", "VENUE", Role.INITIATOR), MemoryStore(), clock)
    s.connection_made()
    acts = s.data_received(h.Peer("VENUE", "QG", clock).raw("5", [(58, "unknown CompID")]))
    assert h.disconnects(acts) and s.state is SessionState.DISCONNECTED
    assert h.sends(acts) == []


def test_logon_timeout(acceptor, clock, h):
    clock.advance(11)
    assert h.disconnects(acceptor.tick())


def test_data_after_disconnect_ignored(logged_on, peer, h):
    logged_on.data_received(peer.raw("0", seq=1))
    assert logged_on.data_received(peer.raw("0")) == []


def test_reject_parse_roundtrip(logged_on, peer, h):
    out = h.sends(logged_on.data_received(peer.raw("ZZ")))
    assert parse(out[0].encode()).msg_type == "3"


def test_processing_pauses_after_delivery_so_answers_precede_a_following_logout(logged_on, peer, h):
    chunk = peer.raw("R", QR) + peer.raw("5", [(58, "bye")])
    first = logged_on.data_received(chunk)
    assert [m.msg_type for m in h.delivered(first)] == ["R"] and logged_on.pending
    # the application answers now, while the session is still active
    answer = h.sends(logged_on.send(Message("AG").add(131, "RFQ-1").add(658, 1).add(146, 1).add(55, "X")))
    assert answer[0].as_int(34) == 2
    rest = logged_on.data_received(b"")
    assert [m.msg_type for m in h.sends(rest)] == ["5"] and h.disconnects(rest)
    assert not logged_on.pending


def test_queued_unsupported_type_gets_business_reject_after_gap_fill(logged_on, peer, h):
    peer.seq = 3
    logged_on.data_received(peer.raw("V", [(262, "md")]))
    acts = h.feed(logged_on, peer.raw("4", [(123, "Y"), (36, 3)], seq=2, possdup=True, orig_sending_ns=h.T0))
    assert [(m.msg_type, m.value(380)) for m in h.sends(acts)] == [("j", b"3")]
    assert not h.delivered(acts) and logged_on.next_target_seq == 4


def test_application_cannot_send_session_messages(logged_on):
    with pytest.raises(ValueError, match="session message"):
        logged_on.send(Message("5"))


def test_logon_with_negative_heartbeat_interval_refused(acceptor, peer, h):
    acts = acceptor.data_received(peer.logon(hb=-5, extra=[(554, "s3cret")]))
    out = h.sends(acts)
    assert [m.msg_type for m in out] == ["5"] and b"HeartBtInt" in out[0].value(58)
    assert h.disconnects(acts)


def test_negative_tag_rejected_with_negative_ref_tag(logged_on, peer, h):
    raw = peer.raw("0").replace(b"\x0110=", b"\x01-5=x\x0110=")  # then fix BodyLength/CheckSum
    body = raw[raw.index(b"35="):raw.rindex(b"10=")]
    fixed = b"8=FIX.4.4\x019=%d\x01" % len(body) + body
    fixed += b"10=%03d\x01" % (sum(fixed) % 256)
    out = h.sends(logged_on.data_received(fixed))
    assert [(m.msg_type, m.value(373), m.value(371)) for m in out] == [("3", b"0", b"-5")]
