"""Check a parsed message against the FIX 4.4 dictionary (control/fix/dictionary.py).

Raises :class:`InvalidMessage` carrying the SessionRejectReason (373) and RefTagID (371) that the
session puts into its Reject (35=3), as QuickFIX does for: invalid tag number (0), required tag
missing (1), tag not defined for this message type (2), tag without value (4), value out of range
(5), incorrect data format (6), invalid MsgType (11), tag repeated (13), tag out of required order
(14: header field after the body, body field in the trailer), repeating-group fields out of order
(15: an entry not starting with the delimiter, or members out of dictionary order) and incorrect
NumInGroup (16). Unlike QuickFIX, values inside repeating groups are checked too.

A MsgType that FIX 4.4 defines but this dictionary does not carry raises
:class:`UnsupportedMessageType`; the session answers it with BusinessMessageReject (380=3).
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from enum import IntEnum
from functools import lru_cache

from control.fix.dictionary import (
    FIELDS,
    FIX44_MSG_TYPES,
    HEADER,
    HEADER_TAGS,
    MAX_FIX44_TAG,
    MESSAGES,
    TRAILER_TAGS,
    USER_DEFINED_TAGS,
    FieldType,
    GroupDef,
    MemberDef,
)
from control.fix.messages import Message


class SessionRejectReason(IntEnum):
    """SessionRejectReason (373), FIX 4.4."""

    INVALID_TAG_NUMBER = 0
    REQUIRED_TAG_MISSING = 1
    TAG_NOT_DEFINED_FOR_MESSAGE_TYPE = 2
    UNDEFINED_TAG = 3
    TAG_SPECIFIED_WITHOUT_A_VALUE = 4
    VALUE_IS_INCORRECT = 5
    INCORRECT_DATA_FORMAT = 6
    DECRYPTION_PROBLEM = 7
    SIGNATURE_PROBLEM = 8
    COMPID_PROBLEM = 9
    SENDINGTIME_ACCURACY_PROBLEM = 10
    INVALID_MSGTYPE = 11
    XML_VALIDATION_ERROR = 12
    TAG_APPEARS_MORE_THAN_ONCE = 13
    TAG_SPECIFIED_OUT_OF_REQUIRED_ORDER = 14
    REPEATING_GROUP_FIELDS_OUT_OF_ORDER = 15
    INCORRECT_NUMINGROUP_COUNT = 16
    NON_DATA_VALUE_INCLUDES_FIELD_DELIMITER = 17
    OTHER = 99


class InvalidMessage(ValueError):
    """A message that breaks the dictionary; answered with a session-level Reject."""

    def __init__(self, reason: SessionRejectReason, ref_tag: int | None, text: str) -> None:
        super().__init__(f"{reason.name} (373={int(reason)}), tag {ref_tag}: {text}")
        self.reason = reason
        self.ref_tag = ref_tag
        self.text = text


class UnsupportedMessageType(ValueError):
    """A valid FIX 4.4 MsgType that we do not handle (BusinessMessageReject, 380=3)."""

    def __init__(self, msg_type: str) -> None:
        super().__init__(f"unsupported MsgType {msg_type!r}")
        self.msg_type = msg_type


_R = SessionRejectReason
_DATE = rb"\d{4}(?:0[1-9]|1[0-2])(?:0[1-9]|[12]\d|3[01])"
_TIME = rb"(?:[01]\d|2[0-3]):[0-5]\d:(?:[0-5]\d|60)(?:\.\d{3}|\.\d{6}|\.\d{9})?"
_FORMATS: dict[FieldType, re.Pattern[bytes] | None] = {
    FieldType.INT: re.compile(rb"-?\d+"),
    FieldType.UINT: re.compile(rb"\d+"),
    FieldType.FLOAT: re.compile(rb"-?(?:\d+(?:\.\d*)?|\.\d+)"),
    FieldType.CHAR: re.compile(rb"[^\x01]"),
    FieldType.BOOLEAN: re.compile(rb"[YN]"),
    FieldType.STRING: None,
    FieldType.UTCTIMESTAMP: re.compile(_DATE + rb"-" + _TIME),
    FieldType.UTCTIMEONLY: re.compile(_TIME),
    FieldType.UTCDATEONLY: re.compile(_DATE),
    FieldType.MONTHYEAR: re.compile(rb"\d{4}(?:0[1-9]|1[0-2])(?:(?:0[1-9]|[12]\d|3[01])|w[1-5])?"),
    FieldType.DATA: None,
}
_MATCHERS = {t: (p.fullmatch if p is not None else None) for t, p in _FORMATS.items()}


_DATED = (FieldType.UTCTIMESTAMP, FieldType.UTCDATEONLY)


@lru_cache(maxsize=4096)
def _real_date(yyyymmdd: bytes) -> bool:
    try:
        date(int(yyyymmdd[:4]), int(yyyymmdd[4:6]), int(yyyymmdd[6:8]))
    except ValueError:
        return False
    return True


# tag -> (format matcher or None, enum set or None, check the calendar date, data field, name)
_SPEC = {
    tag: (_MATCHERS[fd.type], fd.enums, fd.type in _DATED, fd.type is FieldType.DATA, fd.name)
    for tag, fd in FIELDS.items()
}


def check_value(tag: int, value: bytes) -> None:
    """Tag number, presence, format and enum of one field (reasons 0, 4, 6, 17, 5)."""
    if tag <= 0 or (tag > MAX_FIX44_TAG and tag not in USER_DEFINED_TAGS):
        raise InvalidMessage(_R.INVALID_TAG_NUMBER, tag, f"Invalid tag number {tag}")
    if not value:
        raise InvalidMessage(_R.TAG_SPECIFIED_WITHOUT_A_VALUE, tag, f"Tag {tag} specified without a value")
    spec = _SPEC.get(tag)
    if spec is None:
        return  # defined by FIX 4.4 but not by any message we carry: reason 2 from the layout walk
    match, enums, dated, data, name = spec
    if match is not None and (match(value) is None or (dated and not _real_date(value[:8]))):
        raise InvalidMessage(_R.INCORRECT_DATA_FORMAT, tag, f"Incorrect data format for value {name}({tag})")
    if not data and b"\x01" in value:
        raise InvalidMessage(_R.NON_DATA_VALUE_INCLUDES_FIELD_DELIMITER, tag, f"{name}({tag}) contains SOH")
    if enums is not None and value not in enums:
        raise InvalidMessage(_R.VALUE_IS_INCORRECT, tag, f"Value is incorrect (out of range) for this tag {name}({tag})")


def _member_tag(m: MemberDef) -> int:
    return m.count_tag if isinstance(m, GroupDef) else m.tag


@dataclass(frozen=True, slots=True)
class _Layout:
    """A header, body or group entry compiled for the walk: allowed tags, order, groups, required."""

    name: str
    order: dict[int, int]
    groups: dict[int, _Layout]
    required: tuple[int, ...]
    count_tag: int = 0
    delimiter: int = 0


def _compile(name: str, members: tuple[MemberDef, ...], count_tag: int = 0) -> _Layout:
    return _Layout(
        name=name,
        order={_member_tag(m): k for k, m in enumerate(members)},
        groups={m.count_tag: _compile(f"group {m.count_tag}", m.members, m.count_tag)
                for m in members if isinstance(m, GroupDef)},
        required=tuple(_member_tag(m) for m in members if m.required),
        count_tag=count_tag,
        delimiter=_member_tag(members[0]) if count_tag else 0,
    )


_HEADER = _compile("header", HEADER)
_BODIES = {mt: _compile(m.name, m.members) for mt, m in MESSAGES.items()}
_MISPLACED = {mt: HEADER_TAGS - frozenset(b.order) for mt, b in _BODIES.items()}


def _require(layout: _Layout, present: set[int]) -> None:
    for tag in layout.required:
        if tag not in present:
            raise InvalidMessage(_R.REQUIRED_TAG_MISSING, tag, f"Required tag missing in {layout.name}")


def _num_in_group(tag: int, value: bytes) -> int:
    if not value.isdigit():
        raise InvalidMessage(_R.INCORRECT_DATA_FORMAT, tag, f"Incorrect data format for NumInGroup({tag})")
    return int(value)


class _Walker:
    """Walks the fields of one message in wire order against compiled layouts."""

    def __init__(self, fields: list[tuple[int, bytes]]) -> None:
        self.fields = fields
        self.n = len(fields)
        self.i = 0

    def group(self, g: _Layout, count: int) -> None:
        order, nested, delim = g.order, g.groups, g.delimiter
        fields = self.fields
        entries = 0
        present: set[int] = set()
        last = -1
        while self.i < self.n:
            tag, value = fields[self.i]
            pos = order.get(tag)
            if pos is None:
                break
            check_value(tag, value)
            if tag == delim:
                if entries:
                    _require(g, present)
                entries += 1
                if entries > count:
                    raise InvalidMessage(_R.INCORRECT_NUMINGROUP_COUNT, g.count_tag,
                                         f"Incorrect NumInGroup count for repeating group {g.count_tag}")
                present, last = {tag}, 0
            elif entries == 0 or tag in present or pos < last:
                raise InvalidMessage(_R.REPEATING_GROUP_FIELDS_OUT_OF_ORDER, tag,
                                     f"Repeating group fields out of order in group {g.count_tag}")
            else:
                present.add(tag)
                last = pos
            self.i += 1
            if tag in nested:
                self.group(nested[tag], _num_in_group(tag, value))
        if entries:
            _require(g, present)
        if entries != count:
            raise InvalidMessage(_R.INCORRECT_NUMINGROUP_COUNT, g.count_tag,
                                 f"Incorrect NumInGroup count for repeating group {g.count_tag}")

    def block(self, layout: _Layout, header: bool, misplaced: frozenset[int]) -> set[int]:
        """Top-level fields of the header (stops at the first non-header tag) or of the body (stops
        at the trailer)."""
        allowed, groups, fields = layout.order, layout.groups, self.fields
        present: set[int] = set()
        while self.i < self.n:
            tag, value = fields[self.i]
            if (tag not in HEADER_TAGS) if header else (tag in TRAILER_TAGS):
                break
            check_value(tag, value)
            if tag in misplaced:
                raise InvalidMessage(_R.TAG_SPECIFIED_OUT_OF_REQUIRED_ORDER, tag,
                                     f"Tag specified out of required order: {tag}")
            if tag not in allowed:
                raise InvalidMessage(_R.TAG_NOT_DEFINED_FOR_MESSAGE_TYPE, tag,
                                     f"Tag not defined for this message type: {tag} in {layout.name}")
            if tag in present:
                raise InvalidMessage(_R.TAG_APPEARS_MORE_THAN_ONCE, tag, f"Tag appears more than once: {tag}")
            present.add(tag)
            self.i += 1
            if tag in groups:
                self.group(groups[tag], _num_in_group(tag, value))
        return present


_NO_TAGS: frozenset[int] = frozenset()


def validate(msg: Message) -> None:
    """Raise InvalidMessage / UnsupportedMessageType if ``msg`` breaks the FIX 4.4 dictionary."""
    validate_fields(msg.msg_type, msg.fields())


def validate_fields(msg_type: str, fields: list[tuple[int, bytes]]) -> None:
    """:func:`validate` on (tag, value) pairs in wire order, 8 9 35 first and 10 last."""
    if msg_type not in FIX44_MSG_TYPES:
        raise InvalidMessage(_R.INVALID_MSGTYPE, 35, f"Invalid MsgType {msg_type!r}")
    body = _BODIES.get(msg_type)
    if body is None:
        raise UnsupportedMessageType(msg_type)
    w = _Walker(fields)
    # Header: up to the first non-header tag. A header tag later in the body is out of order (14).
    _require(_HEADER, w.block(_HEADER, True, _NO_TAGS))
    _require(body, w.block(body, False, _MISPLACED[msg_type]))
    # Trailer: only 93, 89, 10; framing has put 10 last.
    seen_trailer: set[int] = set()
    for tag, value in fields[w.i:]:
        if tag not in TRAILER_TAGS:
            raise InvalidMessage(_R.TAG_SPECIFIED_OUT_OF_REQUIRED_ORDER, tag,
                                 f"Tag specified out of required order: {tag} after the trailer")
        if tag in seen_trailer:
            raise InvalidMessage(_R.TAG_APPEARS_MORE_THAN_ONCE, tag, f"Tag appears more than once: {tag}")
        seen_trailer.add(tag)
        check_value(tag, value)
