"""Sans-IO FIX 4.4 session: bytes in, actions out, with an injected clock and message store.

The session never touches a socket or the system clock. The runner (control/fix/transport.py) calls
:meth:`Session.connection_made`, :meth:`Session.data_received`, :meth:`Session.tick` and
:meth:`Session.send`, and carries out the returned actions (:class:`Send`, :class:`Deliver`,
:class:`LoggedOn`, :class:`Disconnect`) in order.

Behaviour follows FIX 4.4 Volume 2 (session protocol and its test cases) and QuickFIX:

* Logon with CompIDs, optional Username/Password, HeartBtInt, ResetSeqNumFlag.
* Heartbeat after HeartBtInt of silence; TestRequest after 1.2 x HeartBtInt without input and
  disconnect after 2.4 x HeartBtInt (QuickFIX's factors).
* MsgSeqNum too high: queue the message and send ResendRequest(BeginSeqNo=expected, EndSeqNo=0);
  queued messages are processed once the gap is filled. Too low without PossDupFlag: Logout
  "MsgSeqNum too low" and disconnect; with PossDupFlag: ignored (after the OrigSendingTime checks).
* ResendRequest: application messages resent from the store with PossDupFlag=Y and
  OrigSendingTime; runs of admin messages replaced by SequenceReset-GapFill (as QuickFIX does).
* SequenceReset in GapFill and Reset mode; an attempt to lower the number gets Reject 373=5.
* Dictionary violations get Reject (35=3) with SessionRejectReason, RefSeqNum, RefTagID and
  RefMsgType; the inbound number is still consumed. CompID problems (9) and SendingTime accuracy
  problems (10) are rejected, then the session logs out and disconnects.
* Garbled messages (framing.py) are dropped without consuming a sequence number.
"""
from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum
from typing import Protocol

from control.fix.dictionary import ADMIN_MSG_TYPES, BEGIN_STRING, MESSAGES
from control.fix.framing import Frame, Framer, Garbled
from control.fix.messages import (
    GarbledMessage,
    Message,
    encode,
    encode_message,
    parse,
    parse_utc_timestamp,
    utc_timestamp,
)
from control.fix.store import MessageStore
from control.fix.validation import (
    InvalidMessage,
    SessionRejectReason,
    UnsupportedMessageType,
    validate,
    validate_fields,
)

log = logging.getLogger(__name__)

_NS = 1_000_000_000
_BEGIN = BEGIN_STRING.encode()
_MAX_QUEUE = 100_000


class Clock(Protocol):
    def time_ns(self) -> int:
        """UTC wall-clock time in nanoseconds since the epoch."""


class Role(Enum):
    INITIATOR = "initiator"
    ACCEPTOR = "acceptor"


class SessionState(Enum):
    DISCONNECTED = "disconnected"
    """No transport: before the connection, and after Logout or any disconnect."""
    CONNECTED = "connected"
    """Transport up, no Logon yet. The acceptor waits here for the initiator's Logon; the first
    message must be a Logon, anything else closes the connection (FIX 4.4 Vol. 2, Logon)."""
    LOGON_SENT = "logon_sent"
    """Initiator sent Logon and waits for the acceptor's Logon (or Logout, or the logon timeout)."""
    ACTIVE = "active"
    """Both Logons exchanged: application messages flow; heartbeats, test requests, resends."""
    LOGOUT_SENT = "logout_sent"
    """We sent Logout and wait for the confirming Logout (or the logout timeout), then disconnect.
    Resend requests are still answered here (Vol. 2, Logout)."""


class SessionEvent(Enum):
    CONNECTED = "connected"
    LOGON_SENT = "logon_sent"
    LOGON_ACCEPTED = "logon_accepted"
    LOGOUT_SENT = "logout_sent"
    LOGOUT_RECEIVED = "logout_received"
    DISCONNECTED = "disconnected"


_S, _E = SessionState, SessionEvent
# state -> event -> state. Anything missing is a programming error (SessionStateError).
TRANSITIONS: dict[tuple[SessionState, SessionEvent], SessionState] = {
    (_S.DISCONNECTED, _E.CONNECTED): _S.CONNECTED,
    (_S.CONNECTED, _E.LOGON_SENT): _S.LOGON_SENT,
    (_S.CONNECTED, _E.LOGON_ACCEPTED): _S.ACTIVE,
    (_S.LOGON_SENT, _E.LOGON_ACCEPTED): _S.ACTIVE,
    (_S.CONNECTED, _E.LOGOUT_SENT): _S.LOGOUT_SENT,
    (_S.LOGON_SENT, _E.LOGOUT_SENT): _S.LOGOUT_SENT,
    (_S.ACTIVE, _E.LOGOUT_SENT): _S.LOGOUT_SENT,
    (_S.ACTIVE, _E.LOGOUT_RECEIVED): _S.DISCONNECTED,
    (_S.LOGON_SENT, _E.LOGOUT_RECEIVED): _S.DISCONNECTED,
    (_S.CONNECTED, _E.LOGOUT_RECEIVED): _S.DISCONNECTED,
    (_S.LOGOUT_SENT, _E.LOGOUT_RECEIVED): _S.DISCONNECTED,
    **{(s, _E.DISCONNECTED): _S.DISCONNECTED for s in SessionState},
}


class SessionStateError(RuntimeError):
    """An event that the transition table does not allow in the current state."""


class SessionNotActive(RuntimeError):
    """An application message was offered while the session is not logged on."""


@dataclass(frozen=True, slots=True)
class SessionConfig:
    sender_comp_id: str
    target_comp_id: str
    role: Role
    heartbeat_interval_s: int = 30
    username: str | None = None
    password: str | None = None      # initiator: sent as Password(554); acceptor: required value
    reset_on_logon: bool = False     # initiator: send ResetSeqNumFlag(141)=Y and start at 1
    max_latency_s: float = 120.0     # SendingTime accuracy (QuickFIX MaxLatency)
    logon_timeout_s: float = 10.0
    logout_timeout_s: float = 2.0
    test_request_factor: float = 1.2
    timeout_factor: float = 2.4
    validate_outbound: bool = True

    def __post_init__(self) -> None:
        if not self.sender_comp_id or not self.target_comp_id:
            raise ValueError("SenderCompID and TargetCompID must be non-empty")
        if self.heartbeat_interval_s < 0:
            raise ValueError(f"heartbeat_interval_s must be >= 0, got {self.heartbeat_interval_s}")


@dataclass(frozen=True, slots=True)
class Send:
    data: bytes
    seq: int
    msg_type: str


@dataclass(frozen=True, slots=True)
class Deliver:
    """An application message (or a session Reject) for the application, in sequence."""

    message: Message


@dataclass(frozen=True, slots=True)
class LoggedOn:
    pass


@dataclass(frozen=True, slots=True)
class Disconnect:
    reason: str


Action = Send | Deliver | LoggedOn | Disconnect


@dataclass(slots=True)
class SessionStats:
    received: int = 0
    sent: int = 0
    garbled: int = 0
    rejects_sent: int = 0
    resend_requests_sent: int = 0
    messages_resent: int = 0
    gap_fills_sent: int = 0
    duplicates_ignored: int = 0


class Session:
    """One FIX 4.4 session between ``config.sender_comp_id`` and ``config.target_comp_id``."""

    def __init__(self, config: SessionConfig, store: MessageStore, clock: Clock,
                 framer_factory: Callable[[], Framer] = Framer) -> None:
        self.config = config
        self.store = store
        self.clock = clock
        self.state = SessionState.DISCONNECTED
        self.stats = SessionStats()
        self._framer_factory = framer_factory
        self._framer = framer_factory()
        self._sender = config.sender_comp_id.encode()
        self._target = config.target_comp_id.encode()
        self._hb_ns = config.heartbeat_interval_s * _NS
        self._queue: dict[int, Message] = {}
        self._frames: deque[Frame | Garbled] = deque()
        self._drain_pending = False
        self._resend_until: int | None = None   # highest seq seen when we sent our ResendRequest
        self._last_sent = self._last_recv = self._state_since = 0
        self._test_requests = 0
        self._out: list[Action] = []

    # ------------------------------------------------------------------ runner entry points
    def connection_made(self) -> list[Action]:
        now = self.clock.time_ns()
        self._framer = self._framer_factory()
        self._frames.clear()
        self._drain_pending = False
        self._queue.clear()
        self._resend_until = None
        self._test_requests = 0
        self._last_sent = self._last_recv = now
        self._fire(SessionEvent.CONNECTED)
        if self.config.role is Role.INITIATOR:
            if self.config.reset_on_logon:
                self.store.reset()
            logon = Message("A").add(98, 0).add(108, self.config.heartbeat_interval_s)
            if self.config.reset_on_logon:
                logon.add(141, True)
            logon.add(553, self.config.username).add(554, self.config.password)
            self._send(logon)
            self._fire(SessionEvent.LOGON_SENT)
        return self._flush()

    def connection_lost(self) -> None:
        if self.state is not SessionState.DISCONNECTED:
            log.info("%s: connection lost in state %s", self._name, self.state.value)
            self._fire(SessionEvent.DISCONNECTED)

    def data_received(self, data: bytes) -> list[Action]:
        """Feed bytes; returns actions. Processing pauses after a message that is delivered to the
        application, so that its answers are sent before later messages (a Logout, say) change the
        state: while :attr:`pending` is true, call ``data_received(b"")`` again."""
        if self.state is SessionState.DISCONNECTED:
            return []
        if data:
            self._frames.extend(self._framer.feed(data))
        while self.state is not SessionState.DISCONNECTED and not self._delivered():
            if self._drain_pending:
                self._drain()
                continue
            if not self._frames:
                break
            item = self._frames.popleft()
            if isinstance(item, Garbled):
                self.stats.garbled += 1
                continue
            try:
                msg = parse(item.raw)
            except GarbledMessage as exc:
                self.stats.garbled += 1
                log.warning("%s: garbled message dropped: %s", self._name, exc)
                continue
            self.stats.received += 1
            self._last_recv = self.clock.time_ns()
            self._test_requests = 0
            self._on_message(msg)
        return self._flush()

    def tick(self) -> list[Action]:
        """Timers: logon/logout timeouts, heartbeats, test requests, heartbeat timeout."""
        now = self.clock.time_ns()
        cfg = self.config
        st = self.state
        if st in (SessionState.CONNECTED, SessionState.LOGON_SENT):
            if now - self._state_since >= cfg.logon_timeout_s * _NS:
                self._disconnect("Logon timeout")
        elif st is SessionState.LOGOUT_SENT:
            if now - self._state_since >= cfg.logout_timeout_s * _NS:
                self._disconnect("Logout timeout")
        elif st is SessionState.ACTIVE and self._hb_ns > 0:
            silent = now - self._last_recv
            if silent >= cfg.timeout_factor * self._hb_ns:
                self._disconnect(f"Heartbeat timeout: nothing received for {silent / _NS:.1f} s")
            elif silent >= cfg.test_request_factor * (self._test_requests + 1) * self._hb_ns:
                self._test_requests += 1
                self._send(Message("1").add(112, f"TEST-{now // 1_000_000}"))
            if self.state is SessionState.ACTIVE and now - self._last_sent >= self._hb_ns:
                self._send(Message("0"))
        return self._flush()

    def send(self, msg: Message) -> list[Action]:
        """Send one application message. Raises SessionNotActive, InvalidMessage (outbound check)."""
        if msg.msg_type in ADMIN_MSG_TYPES:
            raise ValueError(f"{msg.msg_type!r} is a session message: the session sends those itself")
        if self.state is not SessionState.ACTIVE:
            raise SessionNotActive(f"{self._name}: cannot send {msg.msg_type!r} in state {self.state.value}")
        self._send(msg)
        return self._flush()

    def logout(self, text: str | None = None) -> list[Action]:
        """Start a clean logout (Logout, wait for the reply, disconnect)."""
        if self.state in (SessionState.ACTIVE, SessionState.LOGON_SENT):
            self._send(Message("5").add(58, text))
            self._fire(SessionEvent.LOGOUT_SENT)
        elif self.state is not SessionState.DISCONNECTED:
            self._disconnect(text or "logout")
        return self._flush()

    @property
    def pending(self) -> bool:
        """Messages received but not processed yet (see :meth:`data_received`)."""
        return self.state is not SessionState.DISCONNECTED and bool(self._frames or self._drain_pending)

    def _delivered(self) -> bool:
        return any(isinstance(a, Deliver) for a in self._out)

    @property
    def next_sender_seq(self) -> int:
        return self.store.next_sender_seq()

    @property
    def next_target_seq(self) -> int:
        return self.store.next_target_seq()

    # ------------------------------------------------------------------ state machine
    @property
    def _name(self) -> str:
        return f"FIX {self.config.sender_comp_id}->{self.config.target_comp_id}"

    def _fire(self, event: SessionEvent) -> None:
        nxt = TRANSITIONS.get((self.state, event))
        if nxt is None:
            raise SessionStateError(f"{self._name}: event {event.value} not allowed in state {self.state.value}")
        if nxt is not self.state:
            log.info("%s: %s --%s--> %s", self._name, self.state.value, event.value, nxt.value)
            self._state_since = self.clock.time_ns()
        self.state = nxt

    def _flush(self) -> list[Action]:
        out, self._out = self._out, []
        return out

    def _disconnect(self, reason: str) -> None:
        if self.state is SessionState.DISCONNECTED:
            return
        log.warning("%s: disconnect: %s", self._name, reason)
        self._fire(SessionEvent.DISCONNECTED)
        self._out.append(Disconnect(reason))

    def _logout_and_disconnect(self, text: str) -> None:
        self._send(Message("5").add(58, text))
        self._disconnect(text)

    # ------------------------------------------------------------------ sending
    def _header(self, seq: int, now: int, extra: list[tuple[int, bytes]] | None = None) -> list[tuple[int, bytes]]:
        header = [(34, b"%d" % seq), (49, self._sender), (52, utc_timestamp(now)), (56, self._target)]
        if extra:
            header.extend(extra)
            header.sort(key=lambda f: f[0])
        return header

    def _send(self, msg: Message) -> None:
        now = self.clock.time_ns()
        seq = self.store.next_sender_seq()
        mt = msg.message_type
        if not mt:
            raise ValueError("message has no MsgType(35)")
        header = self._header(seq, now)
        body = msg.body_fields()
        if self.config.validate_outbound:
            validate_fields(msg.msg_type, [(8, _BEGIN), (9, b"0"), (35, mt), *header, *body, (10, b"000")])
        raw = encode(mt, header, body)
        self.store.save_sent(seq, raw)  # persisted (fsync) before it reaches the wire
        self._emit(raw, seq, msg.msg_type, now)

    def _emit(self, raw: bytes, seq: int, msg_type: str, now: int) -> None:
        self._last_sent = now
        self.stats.sent += 1
        self._out.append(Send(raw, seq, msg_type))

    def _reject(self, msg: Message, seq: int, reason: SessionRejectReason, ref_tag: int | None, text: str) -> None:
        log.warning("%s: Reject seq %d (%s): %s", self._name, seq, reason.name, text)
        self.stats.rejects_sent += 1
        rej = Message("3").add(45, seq).add(371, ref_tag).add(372, msg.message_type or None)
        self._send(rej.add(373, int(reason)).add(58, text))

    def _consume(self, seq: int) -> None:
        if seq == self.store.next_target_seq():
            self.store.set_next_target_seq(seq + 1)

    # ------------------------------------------------------------------ receiving
    def _on_message(self, msg: Message) -> None:
        if msg.begin_string != _BEGIN:
            # Test case 2.g: wrong BeginString -> Logout and disconnect.
            self._logout_and_disconnect(f"Incorrect BeginString {msg.begin_string.decode('latin-1')}")
            return
        seq_b = msg.value(34)
        if seq_b is None or not seq_b.isdigit():
            self._logout_and_disconnect("MsgSeqNum(34) missing or not a number")
            return
        seq = int(seq_b)
        msg_type = msg.msg_type
        if self.state in (SessionState.CONNECTED, SessionState.LOGON_SENT) and msg_type not in ("A", "5"):
            self._disconnect(f"first message is MsgType {msg_type!r}, not Logon")
            return
        try:
            validate(msg)
        except UnsupportedMessageType:
            if self.state is SessionState.ACTIVE and seq == self.store.next_target_seq():
                self._business_reject_unsupported(msg, seq)
            else:
                self._sequence_gap_or_drop(msg, seq)
            return
        except InvalidMessage as exc:
            if msg_type == "A" and self.state is not SessionState.ACTIVE:
                self._logout_and_disconnect(f"Invalid Logon: {exc.text}")
                return
            self._reject(msg, seq, exc.reason, exc.ref_tag, exc.text)
            self._consume(seq)
            return
        if not self._verify_header(msg, seq):
            return
        if msg_type == "A":
            self._on_logon(msg, seq)
        elif msg_type == "5":
            self._on_logout(msg, seq)
        elif msg_type == "4":
            self._on_sequence_reset(msg, seq)
        elif msg_type == "2":
            self._on_resend_request(msg, seq)
        else:
            self._in_sequence(msg, seq)

    def _verify_header(self, msg: Message, seq: int) -> bool:
        if msg.value(49) != self._target or msg.value(56) != self._sender:
            bad = 49 if msg.value(49) != self._target else 56
            if self.state is SessionState.ACTIVE:
                self._reject(msg, seq, SessionRejectReason.COMPID_PROBLEM, bad, "CompID problem")
                self._consume(seq)
            self._logout_and_disconnect("CompID problem")
            return False
        sending_ns = _timestamp(msg, 52)
        if sending_ns is None:
            if self.state is SessionState.ACTIVE:
                self._reject(msg, seq, SessionRejectReason.INCORRECT_DATA_FORMAT, 52,
                             "Incorrect data format for value SendingTime(52)")
                self._consume(seq)
            else:
                self._logout_and_disconnect("Invalid Logon: incorrect SendingTime(52)")
            return False
        if abs(self.clock.time_ns() - sending_ns) > self.config.max_latency_s * _NS:
            if self.state is SessionState.ACTIVE:
                self._reject(msg, seq, SessionRejectReason.SENDINGTIME_ACCURACY_PROBLEM, 52,
                             "SendingTime accuracy problem")
                self._consume(seq)
            self._logout_and_disconnect("SendingTime accuracy problem")
            return False
        return True

    def _check_too_low(self, msg: Message, seq: int) -> None:
        """seq < expected: a PossDup duplicate is ignored (after the OrigSendingTime checks),
        anything else is a fatal sequence error (Logout, disconnect)."""
        expected = self.store.next_target_seq()
        if msg.value(43) == b"Y":
            if msg.msg_type != "4":
                if msg.value(122) is None:
                    self._reject(msg, seq, SessionRejectReason.REQUIRED_TAG_MISSING, 122, "Required tag missing")
                    return
                orig = _timestamp(msg, 122)
                if orig is None:
                    self._reject(msg, seq, SessionRejectReason.INCORRECT_DATA_FORMAT, 122,
                                 "Incorrect data format for value OrigSendingTime(122)")
                    return
                if orig > (_timestamp(msg, 52) or 0):
                    self._reject(msg, seq, SessionRejectReason.SENDINGTIME_ACCURACY_PROBLEM, 122,
                                 "SendingTime accuracy problem")
                    self._logout_and_disconnect("SendingTime accuracy problem")
                    return
            self.stats.duplicates_ignored += 1
            log.info("%s: duplicate seq %d (expected %d) ignored", self._name, seq, expected)
            return
        self._logout_and_disconnect(f"MsgSeqNum too low, expecting {expected} but received {seq}")

    def _sequence_gap_or_drop(self, msg: Message, seq: int) -> None:
        expected = self.store.next_target_seq()
        if seq > expected:
            self._queue_and_request(msg, seq)
        elif seq < expected:
            self._check_too_low(msg, seq)

    def _queue_and_request(self, msg: Message, seq: int) -> None:
        expected = self.store.next_target_seq()
        if len(self._queue) < _MAX_QUEUE:
            self._queue[seq] = msg
        if self._resend_until is None:  # one outstanding request (EndSeqNo=0 covers later ones)
            log.warning("%s: MsgSeqNum too high, expecting %d but received %d: ResendRequest",
                        self._name, expected, seq)
            self._resend_until = seq
            self.stats.resend_requests_sent += 1
            self._send(Message("2").add(7, expected).add(16, 0))

    def _in_sequence(self, msg: Message, seq: int) -> None:
        expected = self.store.next_target_seq()
        if seq > expected:
            self._queue_and_request(msg, seq)
            return
        if seq < expected:
            self._check_too_low(msg, seq)
            return
        self._process(msg)
        self.store.set_next_target_seq(seq + 1)
        self._drain()

    def _drain(self) -> None:
        """Process queued messages that are now in sequence; pauses after a delivery."""
        self._drain_pending = False
        while self.state is not SessionState.DISCONNECTED:
            expected = self.store.next_target_seq()
            for s in [s for s in self._queue if s < expected]:
                del self._queue[s]
            nxt = self._queue.pop(expected, None)
            if nxt is None:
                break
            self._on_queued(nxt, expected)
            if self._delivered():
                self._drain_pending = bool(self._queue)
                break
        if self._resend_until is not None and self.store.next_target_seq() > self._resend_until:
            log.info("%s: resend complete up to %d", self._name, self._resend_until)
            self._resend_until = None

    def _on_queued(self, msg: Message, seq: int) -> None:
        t = msg.msg_type
        if t not in MESSAGES:
            self._business_reject_unsupported(msg, seq)
        elif t == "4":
            self._on_sequence_reset(msg, seq)
        elif t == "5":
            self._on_logout(msg, seq)
        elif t == "A":
            self.store.set_next_target_seq(seq + 1)
        else:
            self._process(msg)
            self.store.set_next_target_seq(seq + 1)

    def _business_reject_unsupported(self, msg: Message, seq: int) -> None:
        t = msg.msg_type
        self._send(Message("j").add(45, seq).add(372, t).add(380, 3).add(58, f"Unsupported Message Type {t}"))
        self._consume(seq)

    def _process(self, msg: Message) -> None:
        t = msg.msg_type
        if t == "0":
            return
        if t == "1":
            self._send(Message("0").add(112, msg.value(112)))
        elif t == "2":
            return  # already answered when it arrived
        elif t == "3":
            log.warning("%s: received Reject: %s", self._name, msg)
            self._out.append(Deliver(msg))
        elif t in ADMIN_MSG_TYPES:
            return
        else:
            self._out.append(Deliver(msg))

    # ------------------------------------------------------------------ admin messages
    def _on_logon(self, msg: Message, seq: int) -> None:
        cfg = self.config
        if self.state is SessionState.ACTIVE or self.state is SessionState.LOGOUT_SENT:
            self._logout_and_disconnect("Logon received while logged on")
            return
        if msg.value(98) != b"0":
            self._logout_and_disconnect("Unsupported EncryptMethod(98)")
            return
        if (msg.as_int(108) or 0) < 0:
            self._logout_and_disconnect("HeartBtInt(108) must not be negative")
            return
        if cfg.role is Role.ACCEPTOR and cfg.password is not None and msg.text(554) != cfg.password:
            self._logout_and_disconnect("Logon rejected: invalid Username/Password")
            return
        reset = msg.value(141) == b"Y"
        if reset and cfg.role is Role.ACCEPTOR:
            self.store.reset()
        if cfg.role is Role.ACCEPTOR:
            self._hb_ns = (msg.as_int(108) or 0) * _NS
        expected = self.store.next_target_seq()
        if seq < expected:
            self._logout_and_disconnect(f"MsgSeqNum too low, expecting {expected} but received {seq}")
            return
        if cfg.role is Role.ACCEPTOR:
            reply = Message("A").add(98, 0).add(108, msg.as_int(108))
            if reset:
                reply.add(141, True)
            self._send(reply)
        self._fire(SessionEvent.LOGON_ACCEPTED)
        log.info("%s: logged on (next out %d, next in %d)", self._name, self.store.next_sender_seq(), expected)
        self._out.append(LoggedOn())
        if seq > expected:
            self._queue_and_request(msg, seq)
        else:
            self.store.set_next_target_seq(seq + 1)
            self._drain()

    def _on_logout(self, msg: Message, seq: int) -> None:
        if seq < self.store.next_target_seq() and msg.value(43) == b"Y":
            self.stats.duplicates_ignored += 1
            return
        text = msg.text(58, "")
        self._consume(seq)
        if self.state is SessionState.LOGOUT_SENT:
            log.info("%s: logout confirmed %s", self._name, text)
        elif self.state is SessionState.LOGON_SENT:
            log.warning("%s: logon refused by peer: %s", self._name, text)
        elif self.state is SessionState.ACTIVE:
            log.info("%s: peer logged out: %s", self._name, text)
            self._send(Message("5"))
        self._fire(SessionEvent.LOGOUT_RECEIVED)
        self._out.append(Disconnect(f"Logout received: {text}" if text else "Logout received"))

    def _on_sequence_reset(self, msg: Message, seq: int) -> None:
        gap_fill = msg.value(123) == b"Y"
        expected = self.store.next_target_seq()
        if gap_fill:
            if seq > expected:
                self._queue_and_request(msg, seq)
                return
            if seq < expected:
                self._check_too_low(msg, seq)
                return
        new_seq = msg.as_int(36) or 0
        if new_seq > expected:
            log.info("%s: SequenceReset%s: next inbound %d -> %d", self._name,
                     "-GapFill" if gap_fill else "-Reset", expected, new_seq)
            self.store.set_next_target_seq(new_seq)
        elif new_seq < expected:
            self._reject(msg, seq, SessionRejectReason.VALUE_IS_INCORRECT, 36,
                         f"Attempt to lower sequence number, invalid value NewSeqNo(36)={new_seq}")
        self._drain()

    def _on_resend_request(self, msg: Message, seq: int) -> None:
        expected = self.store.next_target_seq()
        if seq < expected:
            self._check_too_low(msg, seq)
            return
        begin = msg.as_int(7) or 0
        end = msg.as_int(16) or 0
        last = self.store.next_sender_seq() - 1
        if end == 0 or end == 999_999 or end > last:
            end = last
        log.info("%s: ResendRequest %d..%d", self._name, begin, end)
        self._resend(max(begin, 1), end)
        if seq == expected:
            self.store.set_next_target_seq(seq + 1)
            self._drain()
        else:
            self._queue_and_request(msg, seq)

    def _resend(self, begin: int, end: int) -> None:
        if begin > end:
            return
        now = self.clock.time_ns()
        stored = dict(self.store.sent(begin, end))
        gap_start: int | None = None
        for s in range(begin, end + 1):
            raw = stored.get(s)
            old = parse(raw) if raw is not None else None
            if old is None or old.msg_type in ADMIN_MSG_TYPES:
                if gap_start is None:
                    gap_start = s
                continue
            if gap_start is not None:
                self._gap_fill(gap_start, s, now)
                gap_start = None
            extra = [(43, b"Y"), (122, old.value(52) or utc_timestamp(now))]
            out = encode_message(old, self._header(s, now, extra))
            self.stats.messages_resent += 1
            self._emit(out, s, old.msg_type, now)
        if gap_start is not None:
            self._gap_fill(gap_start, end + 1, now)

    def _gap_fill(self, seq: int, new_seq: int, now: int) -> None:
        self.stats.gap_fills_sent += 1
        gf = Message("4").add(123, True).add(36, new_seq)
        raw = encode_message(gf, self._header(seq, now, [(43, b"Y"), (122, utc_timestamp(now))]))
        self._emit(raw, seq, "4", now)


def _timestamp(msg: Message, tag: int) -> int | None:
    """Epoch ns of a UTCTimestamp field, or None when absent or not a real date and time."""
    value = msg.value(tag)
    if value is None:
        return None
    try:
        return parse_utc_timestamp(value)
    except ValueError:
        return None


class SystemClock:
    """The real clock, for the runner. Tests inject a fake one."""

    def time_ns(self) -> int:
        return time.time_ns()
