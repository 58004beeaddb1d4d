"""A compact FIX 4.4 data dictionary, as data, for the messages QuoteGuard speaks.

Source: the FIX 4.4 specification and QuickFIX's FIX44.xml (field types, enums, message layouts,
requiredness). Only the messages we use are defined: the admin messages 0 1 2 3 4 5 A and
QuoteRequest R, Quote S, QuoteCancel Z, MassQuote i, MassQuoteAcknowledgement b,
QuoteRequestReject AG, BusinessMessageReject j, NewOrderSingle D and ExecutionReport 8. Components
are expanded in place with the subset of their fields we accept.

Message layouts are written in a tiny notation that :func:`_parse_layout` turns into tuples:
``131!`` is a required field, ``644`` an optional one, ``{146! ... }`` a repeating group whose
NumInGroup tag is 146 (the first member is the group's delimiter), and an upper-case word is a
component expanded from ``COMPONENTS``.
"""
from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

BEGIN_STRING = "FIX.4.4"

# Highest tag number defined by FIX 4.4; tags above it are invalid unless user-defined.
MAX_FIX44_TAG = 956
USER_DEFINED_TAGS = range(5000, 10000)


class FieldType(Enum):
    """FIX 4.4 data types (Volume 1, "Data Types"), folded into the formats we check."""

    INT = "int"              # int, DayOfMonth: optional '-' then digits
    UINT = "uint"            # Length, SeqNum, NumInGroup, TagNum: digits (no sign)
    FLOAT = "float"          # float, Qty, Price, PriceOffset, Amt, Percentage: no exponent
    CHAR = "char"            # one character
    BOOLEAN = "boolean"      # 'Y' or 'N'
    STRING = "string"        # String, MultipleValueString, Currency, Exchange, Country
    UTCTIMESTAMP = "UTCTimestamp"  # YYYYMMDD-HH:MM:SS[.sss]
    UTCTIMEONLY = "UTCTimeOnly"    # HH:MM:SS[.sss]
    UTCDATEONLY = "UTCDateOnly"    # YYYYMMDD (also LocalMktDate)
    MONTHYEAR = "MonthYear"        # YYYYMM, YYYYMMDD or YYYYMMwN
    DATA = "data"            # raw bytes, length given by the preceding Length field


@dataclass(frozen=True, slots=True)
class FieldDef:
    tag: int
    name: str
    type: FieldType
    enums: frozenset[bytes] | None = None


@dataclass(frozen=True, slots=True)
class GroupDef:
    """A repeating group: NumInGroup tag, requiredness, and ordered members (delimiter first)."""

    count_tag: int
    required: bool
    members: tuple[MemberDef, ...]

    @property
    def delimiter(self) -> int:
        first = self.members[0]
        return first.count_tag if isinstance(first, GroupDef) else first.tag


@dataclass(frozen=True, slots=True)
class FieldRef:
    tag: int
    required: bool


MemberDef = FieldRef | GroupDef


@dataclass(frozen=True, slots=True)
class MessageDef:
    msg_type: str
    name: str
    admin: bool
    members: tuple[MemberDef, ...]

    @property
    def tags(self) -> frozenset[int]:
        """Top-level tags (fields and NumInGroup tags) of this message body."""
        return frozenset(m.count_tag if isinstance(m, GroupDef) else m.tag for m in self.members)


_T = FieldType
# tag name type [enum values, space separated]
_FIELDS = """
1 Account STRING
6 AvgPx FLOAT
7 BeginSeqNo UINT
8 BeginString STRING
9 BodyLength UINT
10 CheckSum STRING
11 ClOrdID STRING
12 Commission FLOAT
13 CommType CHAR 1 2 3 4 5 6
14 CumQty FLOAT
15 Currency STRING
16 EndSeqNo UINT
17 ExecID STRING
18 ExecInst STRING
19 ExecRefID STRING
21 HandlInst CHAR 1 2 3
22 SecurityIDSource STRING
31 LastPx FLOAT
32 LastQty FLOAT
34 MsgSeqNum UINT
35 MsgType STRING
36 NewSeqNo UINT
37 OrderID STRING
38 OrderQty FLOAT
39 OrdStatus CHAR 0 1 2 3 4 6 7 8 9 A B C D E
40 OrdType CHAR 1 2 3 4 5 6 7 8 9 A B C D E F G H I J K L M P
41 OrigClOrdID STRING
43 PossDupFlag BOOLEAN
44 Price FLOAT
45 RefSeqNum UINT
48 SecurityID STRING
49 SenderCompID STRING
50 SenderSubID STRING
52 SendingTime UTCTIMESTAMP
54 Side CHAR 1 2 3 4 5 6 7 8 9 A B C D E F G
55 Symbol STRING
56 TargetCompID STRING
57 TargetSubID STRING
58 Text STRING
59 TimeInForce CHAR 0 1 2 3 4 5 6 7
60 TransactTime UTCTIMESTAMP
62 ValidUntilTime UTCTIMESTAMP
63 SettlType STRING
64 SettlDate UTCDATEONLY
65 SymbolSfx STRING
75 TradeDate UTCDATEONLY
89 Signature DATA
90 SecureDataLen UINT
91 SecureData DATA
93 SignatureLength UINT
95 RawDataLength UINT
96 RawData DATA
97 PossResend BOOLEAN
98 EncryptMethod UINT 0 1 2 3 4 5 6
99 StopPx FLOAT
103 OrdRejReason INT 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 99
106 Issuer STRING
107 SecurityDesc STRING
108 HeartBtInt INT
110 MinQty FLOAT
112 TestReqID STRING
115 OnBehalfOfCompID STRING
116 OnBehalfOfSubID STRING
117 QuoteID STRING
122 OrigSendingTime UTCTIMESTAMP
123 GapFillFlag BOOLEAN
126 ExpireTime UTCTIMESTAMP
128 DeliverToCompID STRING
129 DeliverToSubID STRING
131 QuoteReqID STRING
132 BidPx FLOAT
133 OfferPx FLOAT
134 BidSize FLOAT
135 OfferSize FLOAT
140 PrevClosePx FLOAT
141 ResetSeqNumFlag BOOLEAN
142 SenderLocationID STRING
143 TargetLocationID STRING
144 OnBehalfOfLocationID STRING
145 DeliverToLocationID STRING
146 NoRelatedSym UINT
150 ExecType CHAR 0 3 4 5 6 7 8 9 A B C D E F G H I
151 LeavesQty FLOAT
152 CashOrderQty FLOAT
167 SecurityType STRING
188 BidSpotRate FLOAT
189 BidForwardPoints FLOAT
190 OfferSpotRate FLOAT
191 OfferForwardPoints FLOAT
192 OrderQty2 FLOAT
193 SettlDate2 UTCDATEONLY
200 MaturityMonthYear MONTHYEAR
201 PutOrCall UINT 0 1
202 StrikePrice FLOAT
206 OptAttribute CHAR
207 SecurityExchange STRING
212 XmlDataLen UINT
213 XmlData DATA
229 TradeOriginationDate UTCDATEONLY
231 ContractMultiplier FLOAT
293 DefBidSize FLOAT
294 DefOfferSize FLOAT
295 NoQuoteEntries UINT
296 NoQuoteSets UINT
297 QuoteStatus UINT 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15
298 QuoteCancelType UINT 1 2 3 4
299 QuoteEntryID STRING
300 QuoteRejectReason UINT 1 2 3 4 5 6 7 8 9 99
301 QuoteResponseLevel UINT 0 1 2
302 QuoteSetID STRING
303 QuoteRequestType UINT 1 2
304 TotNoQuoteEntries INT
311 UnderlyingSymbol STRING
336 TradingSessionID STRING
347 MessageEncoding STRING
354 EncodedTextLen UINT
355 EncodedText DATA
367 QuoteSetValidUntilTime UTCTIMESTAMP
368 QuoteEntryRejectReason UINT 1 2 3 4 5 6 7 8 9 99
369 LastMsgSeqNumProcessed UINT
371 RefTagID INT
372 RefMsgType STRING
373 SessionRejectReason UINT 0 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 99
379 BusinessRejectRefID STRING
380 BusinessRejectReason INT 0 1 2 3 4 5 6 7
383 MaxMessageSize UINT
384 NoMsgTypes UINT
385 MsgDirection CHAR S R
423 PriceType UINT 1 2 3 4 5 6 7 8 9 10 11
447 PartyIDSource CHAR 1 2 3 4 5 6 7 8 9 A B C D E F G H I
448 PartyID STRING
452 PartyRole UINT
453 NoPartyIDs UINT
460 Product UINT 1 2 3 4 5 6 7 8 9 10 11 12 13
461 CFICode STRING
464 TestMessageIndicator BOOLEAN
523 PartySubID STRING
526 SecondaryClOrdID STRING
528 OrderCapacity CHAR A G I P R W
537 QuoteType UINT 0 1 2 3
541 MaturityDate UTCDATEONLY
553 Username STRING
554 Password STRING
628 HopCompID STRING
629 HopSendingTime UTCTIMESTAMP
630 HopRefID UINT
627 NoHops UINT
631 MidPx FLOAT
632 BidYield FLOAT
633 MidYield FLOAT
634 OfferYield FLOAT
640 Price2 FLOAT
642 BidForwardPoints2 FLOAT
643 OfferForwardPoints2 FLOAT
644 RFQReqID STRING
645 MktBidPx FLOAT
646 MktOfferPx FLOAT
647 MinBidSize FLOAT
648 MinOfferSize FLOAT
658 QuoteRequestRejectReason UINT 1 2 3 4 5 6 7 8 9 10 99
660 AcctIDSource INT 1 2 3 4 5 99
692 QuotePriceType UINT 1 2 3 4 5 6 7 8 9 10
693 QuoteRespID STRING
762 SecuritySubType STRING
789 NextExpectedMsgSeqNum UINT
802 NoPartySubIDs UINT
803 PartySubIDType UINT
854 QtyType UINT 0 1
893 LastFragment BOOLEAN
"""


def _parse_fields(text: str) -> dict[int, FieldDef]:
    out: dict[int, FieldDef] = {}
    for line in text.strip().splitlines():
        tag_s, name, type_s, *enums = line.split()
        tag = int(tag_s)
        out[tag] = FieldDef(tag, name, _T[type_s], frozenset(e.encode() for e in enums) if enums else None)
    return out


FIELDS: dict[int, FieldDef] = _parse_fields(_FIELDS)
TAG_BY_NAME: dict[str, int] = {f.name: t for t, f in FIELDS.items()}

# Every MsgType value FIX 4.4 defines: anything else is SessionRejectReason 11 (invalid MsgType);
# a defined type we do not implement gets BusinessMessageReject(380=3 unsupported message type).
FIX44_MSG_TYPES: frozenset[str] = frozenset(
    "0 1 2 3 4 5 6 7 8 9 A B C D E F G H J K L M N P Q R S T V W X Y Z "
    "a b c d e f g h i j k l m n o p q r s t u v w x y z "
    "AA AB AC AD AE AF AG AH AI AJ AK AL AM AN AO AP AQ AR AS AT AU AV AW AX AY AZ "
    "BA BB BC BD BE BF BG BH".split()
)

# Components, expanded in place (the subset of their fields we accept).
COMPONENTS: dict[str, str] = {
    "INSTRUMENT": "55 65 48 22 460 461 167 762 200 541 201 202 206 231 207 106 107",
    "PARTIES": "{453 448 447 452 {802 523 803}}",
    "ORDERQTYDATA": "38 152",
    "UNDERLYINGSYM": "311",
}

HEADER_LAYOUT = "8! 9! 35! 49! 56! 115 128 90 91 34! 50 142 57 143 116 144 129 145 43 97 52! 122 212 213 347 369 {627 628 629 630}"
TRAILER_LAYOUT = "93 89 10!"

_MESSAGES: dict[str, tuple[str, bool, str]] = {
    "0": ("Heartbeat", True, "112"),
    "1": ("TestRequest", True, "112!"),
    "2": ("ResendRequest", True, "7! 16!"),
    "3": ("Reject", True, "45! 371 372 373 58 354 355"),
    "4": ("SequenceReset", True, "123 36!"),
    "5": ("Logout", True, "58 354 355"),
    "A": ("Logon", True, "98! 108! 95 96 141 789 383 {384 372 385} 464 553 554"),
    "j": ("BusinessMessageReject", False, "45 372! 379 380! 58 354 355"),
    "R": ("QuoteRequest", False,
          "131! 644 11 528 {146! INSTRUMENT 140 303 537 336 229 54 854 ORDERQTYDATA 63 64 193 192 15 "
          "1 660 692 40 62 126 60 423 44 640 PARTIES} 58 354 355"),
    "AG": ("QuoteRequestReject", False,
           "131! 644 658! {146! INSTRUMENT 140 303 537 336 229 54 854 ORDERQTYDATA 63 64 193 192 15 "
           "1 660 692 40 126 60 423 44 640 PARTIES} 58 354 355"),
    "S": ("Quote", False,
          "131 117! 693 537 301 PARTIES 336 INSTRUMENT 54 ORDERQTYDATA 63 64 193 192 15 1 660 "
          "132 133 645 646 647 134 648 135 62 188 190 189 191 631 632 633 634 60 642 643 40 "
          "58 354 355"),
    "Z": ("QuoteCancel", False,
          "131 117! 298! 301 PARTIES 1 660 336 {295 INSTRUMENT} 58 354 355"),
    "i": ("MassQuote", False,
          "131 117! 537 301 PARTIES 1 660 293 294 {296! 302! UNDERLYINGSYM 367 304! 893 "
          "{295! 299! INSTRUMENT 132 133 134 135 62 188 190 189 191 631 632 633 634 60 336 "
          "64 40 193 192 15}}"),
    "b": ("MassQuoteAcknowledgement", False,
          "131 117 297! 300 301 537 PARTIES 1 660 58 354 355 {296 302 UNDERLYINGSYM 304 893 "
          "{295 299 INSTRUMENT 132 133 134 135 62 188 190 189 191 631 632 633 634 60 336 64 "
          "40 193 192 15 368}}"),
    "D": ("NewOrderSingle", False,
          "11! 526 PARTIES 229 75 1 660 63 64 21 18 110 INSTRUMENT 140 54! 60! 854 ORDERQTYDATA 40! "
          "423 44 99 15 117 59 126 528 58 354 355 193 192 640"),
    "8": ("ExecutionReport", False,
          "37! 11 41 693 PARTIES 17! 19 150! 39! 103 1 660 63 64 INSTRUMENT 54! 854 ORDERQTYDATA "
          "40 423 44 99 15 59 126 18 528 32 31 336 151! 14! 6! 75 60 21 110 58 354 355 193 192"),
}


def _tokens(layout: str) -> list[str]:
    out: list[str] = []
    for tok in layout.replace("{", " { ").replace("}", " } ").split():
        if tok.isupper() and tok.isalpha():
            out.extend(_tokens(COMPONENTS[tok]))
        else:
            out.append(tok)
    return out


def _parse_layout(layout: str) -> tuple[MemberDef, ...]:
    toks = _tokens(layout)
    pos = 0

    def seq(until_close: bool) -> list[MemberDef]:
        nonlocal pos
        items: list[MemberDef] = []
        while pos < len(toks):
            tok = toks[pos]
            pos += 1
            if tok == "}":
                if not until_close:
                    raise ValueError(f"unbalanced '}}' in layout {layout!r}")
                return items
            if tok == "{":
                head = toks[pos]
                pos += 1
                members = seq(True)
                items.append(GroupDef(int(head.rstrip("!")), head.endswith("!"), tuple(members)))
                continue
            tag = int(tok.rstrip("!"))
            if tag not in FIELDS:
                raise KeyError(f"tag {tag} used in a layout but missing from FIELDS")
            items.append(FieldRef(tag, tok.endswith("!")))
        if until_close:
            raise ValueError(f"unclosed '{{' in layout {layout!r}")
        return items

    return tuple(seq(False))


HEADER: tuple[MemberDef, ...] = _parse_layout(HEADER_LAYOUT)
TRAILER: tuple[MemberDef, ...] = _parse_layout(TRAILER_LAYOUT)
HEADER_TAGS: frozenset[int] = frozenset(m.count_tag if isinstance(m, GroupDef) else m.tag for m in HEADER)
TRAILER_TAGS: frozenset[int] = frozenset(m.tag for m in TRAILER if isinstance(m, FieldRef))
MESSAGES: dict[str, MessageDef] = {
    mt: MessageDef(mt, name, admin, _parse_layout(layout)) for mt, (name, admin, layout) in _MESSAGES.items()
}
ADMIN_MSG_TYPES: frozenset[str] = frozenset(mt for mt, m in MESSAGES.items() if m.admin)

# Length field -> data field it announces (values may contain SOH).
DATA_LENGTH_TAGS: dict[int, int] = {90: 91, 93: 89, 95: 96, 212: 213, 354: 355}
DATA_TAGS: frozenset[int] = frozenset(DATA_LENGTH_TAGS.values())


def group_defs(members: tuple[MemberDef, ...]) -> dict[int, GroupDef]:
    """NumInGroup tag -> group definition, for the groups directly inside ``members``."""
    return {m.count_tag: m for m in members if isinstance(m, GroupDef)}
