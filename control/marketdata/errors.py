"""The one error type every decoder raises. A bad record becomes a `DecodeError` that says what is
wrong (a stable `reason` code for counting), where (source and line) and which record (an excerpt);
the caller counts it and moves on to the next record."""
from __future__ import annotations

# Stable reason codes: the counters in ReplayStats and the CLI tables are keyed by these.
MALFORMED_LINE = "malformed_line"          # no "<recv_ts> <payload>" framing, or a bad receive timestamp
MALFORMED_JSON = "malformed_json"          # payload is not JSON (or not UTF-8)
UNKNOWN_MESSAGE = "unknown_message"        # valid JSON of a shape no decoder knows
MISSING_FIELD = "missing_field"            # a required field is absent or has the wrong JSON type
BAD_NUMBER = "bad_number"                  # a price/size/id/timestamp that is not a plain decimal number
NEGATIVE_SIZE = "negative_size"
NEGATIVE_PRICE = "negative_price"
ABSURD_PRICE = "absurd_price"              # zero or beyond the instrument's max_ticks
ABSURD_SIZE = "absurd_size"                # beyond the instrument's max_lots
OFF_TICK = "off_tick"                      # price not a whole number of ticks
OFF_LOT = "off_lot"                        # size not a whole number of lots
SYMBOL_MISMATCH = "symbol_mismatch"        # message for another symbol than the stream's instrument
BAD_ID_RANGE = "bad_id_range"              # depth diff with U > u
# Raised by the books, not the decoders, but reported the same way:
NON_MONOTONIC_ID = "non_monotonic_id"      # update/trade id not above the last one applied
CROSSED_BOOK = "crossed_book"              # best bid >= best ask after an update (reported, still applied)
BAD_SNAPSHOT = "bad_snapshot"              # snapshot that cannot be aligned with the buffered diffs

EXCERPT_CHARS = 160


def excerpt(record: bytes | str | object, limit: int = EXCERPT_CHARS) -> str:
    """A short printable excerpt of the offending record for logs and reports."""
    if isinstance(record, bytes | bytearray | memoryview):
        text = bytes(record).decode("utf-8", errors="backslashreplace")
    else:
        text = str(record)
    return text if len(text) <= limit else text[:limit] + f"...(+{len(text) - limit} chars)"


class DecodeError(ValueError):
    """A record a decoder or book refused. `reason` is one of the codes above."""

    def __init__(self, reason: str, detail: str, *, record: bytes | str | object = b"",
                 source: str = "", line: int = 0) -> None:
        self.reason = reason
        self.detail = detail
        self.record = excerpt(record) if record != b"" else ""
        self.source = source
        self.line = line
        super().__init__(self._text())

    def _text(self) -> str:
        where = f"{self.source}:{self.line}: " if self.source else (f"line {self.line}: " if self.line else "")
        rec = f" | record: {self.record}" if self.record else ""
        return f"{where}{self.reason}: {self.detail}{rec}"

    def located(self, source: str, line: int, record: bytes | str | None = None) -> DecodeError:
        """The same error with its source position (and record, if not already attached)."""
        return DecodeError(self.reason, self.detail,
                           record=self.record if self.record else (record if record is not None else b""),
                           source=source, line=line)


class LoaderError(RuntimeError):
    """A whole input cannot be used (unreadable file, unknown format, mixed instruments)."""
