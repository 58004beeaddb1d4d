"""LOBSTER sample files (NASDAQ, one zip = one message CSV + one order-book CSV of equal length).

message row: time (s after midnight, ET), type, order id, size, price (USD x 10000), direction
order-book row i (the book after message i): ask_px1, ask_sz1, bid_px1, bid_sz1, ask_px2, ...
Empty levels are -9999999999 / 9999999999 with size 0; they become price 0, size 0 here.

Records come from the order-book file (authoritative) with trades from the messages: types 4/5 are
executions, and the direction is the side of the *resting* order, so direction 1 (a buy order was
executed) is a seller-initiated trade. `rebuild_check` independently rebuilds the visible book from
the messages alone and compares it with the order-book file row for row.
"""
from __future__ import annotations

import logging
import re
import time
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from control.book.counters import ReplayStats
from control.marketdata import errors as E
from control.marketdata.errors import DecodeError, LoaderError
from control.marketdata.instruments import DEFAULT_REGISTRY, Instrument, Registry
from models.record import DEFAULT_LEVELS, FLAG_IN_SYNC, FLAG_RESET, empty_records

log = logging.getLogger(__name__)

VENUE = "lobster"
MARKET = "nasdaq"
EXCHANGE_TZ = ZoneInfo("America/New_York")
PRICE_UNITS_PER_USD = 10000   # LOBSTER prices are integers in USD x 10000 (the registry's tick is in them)
EMPTY_ASK = 9999999999
EMPTY_BID = -9999999999
SUBMIT, CANCEL, DELETE, EXECUTE, EXECUTE_HIDDEN, HALT = 1, 2, 3, 4, 5, 7
_NAME = re.compile(r"(?P<sym>[A-Z.]+)_(?P<date>\d{4}-\d{2}-\d{2})_\d+_\d+_(?P<kind>message|orderbook)_(?P<lv>\d+)\.csv$")


@dataclass(frozen=True)
class LobsterFile:
    symbol: str
    date: str
    levels: int
    messages: np.ndarray        # (n, 6) int64: time_ns_after_midnight, type, order id, size, price, direction
    book: np.ndarray            # (n, 4 * levels) int64, as in the file
    midnight_ns: int            # epoch ns of the trading day's midnight, exchange time zone
    rejected: tuple[DecodeError, ...] = field(default=())


def _time_ns(text: str) -> int:
    whole, _, frac = text.partition(".")
    # The samples print some times with float noise beyond ns ("43002.632812672004"): digits past
    # the ninth are dropped (floor to ns), never rounded into the next ns.
    if not whole.isascii() or not whole.isdigit() or (frac and not (frac.isascii() and frac.isdigit())) \
            or len(frac) > 18:
        raise DecodeError(E.BAD_NUMBER, f"bad message time {text[:30]!r}")
    return int(whole) * 1_000_000_000 + int(frac[:9].ljust(9, "0"))


def _parse_messages(text: str, source: str) -> tuple[np.ndarray, list[int], list[DecodeError]]:
    """Message rows; a malformed row is refused (reported) and its index returned in `bad`."""
    rows: list[tuple[int, ...]] = []
    bad: list[int] = []
    errs: list[DecodeError] = []
    for i, line in enumerate(text.splitlines()):
        try:
            cols = line.split(",")
            if len(cols) != 6:
                raise DecodeError(E.MISSING_FIELD, f"expected 6 columns, got {len(cols)}")
            t = _time_ns(cols[0])
            try:
                vals = [int(c) for c in cols[1:]]
            except ValueError:
                raise DecodeError(E.BAD_NUMBER, "non-integer column") from None
            if vals[0] not in (SUBMIT, CANCEL, DELETE, EXECUTE, EXECUTE_HIDDEN, HALT):
                raise DecodeError(E.UNKNOWN_MESSAGE, f"unknown message type {vals[0]}")
            if vals[4] not in (1, -1):
                raise DecodeError(E.MISSING_FIELD, f"direction {vals[4]} is neither 1 nor -1")
            if vals[2] < 0:
                raise DecodeError(E.NEGATIVE_SIZE, f"size {vals[2]} is negative")
            rows.append((t, *vals))
        except DecodeError as err:
            errs.append(err.located(source, i + 1, line))
            bad.append(i)
            rows.append((0, HALT, 0, 0, 0, -1))   # placeholder keeps rows aligned with the book file
    return np.array(rows, dtype=np.int64).reshape(-1, 6), bad, errs


def _open_zip(zip_path: str | Path) -> zipfile.ZipFile:
    try:
        return zipfile.ZipFile(zip_path)
    except (OSError, zipfile.BadZipFile) as exc:
        raise LoaderError(f"{zip_path}: not a readable zip: {exc}") from exc


def read_lobster(zip_path: str | Path) -> LobsterFile:
    """Both CSVs of a LOBSTER sample zip, parsed into integer arrays."""
    zip_path = Path(zip_path)
    with _open_zip(zip_path) as zf:
        found: dict[str, tuple[str, re.Match]] = {}
        for name in zf.namelist():
            m = _NAME.search(name)
            if m:
                found[m["kind"]] = (name, m)
        if set(found) != {"message", "orderbook"}:
            raise LoaderError(f"{zip_path}: expected one *_message_N.csv and one *_orderbook_N.csv")
        mname, mm = found["message"]
        bname, bm = found["orderbook"]
        msg_text = zf.read(mname).decode("ascii", errors="replace")
        book_bytes = zf.read(bname)
    levels = int(bm["lv"])
    source = f"{zip_path.name}:{mname}"
    messages, bad, errs = _parse_messages(msg_text, source)
    try:
        flat = np.array(book_bytes.replace(b"\n", b",").rstrip(b",").split(b","), dtype=np.int64)
        book = flat.reshape(-1, 4 * levels)
    except ValueError as exc:
        raise LoaderError(f"{zip_path}: {bname} is not a {4 * levels}-column integer matrix: {exc}") from exc
    if len(book) != len(messages):
        raise LoaderError(f"{zip_path}: {len(messages)} message rows but {len(book)} order-book rows")
    day = datetime.strptime(mm["date"], "%Y-%m-%d").replace(tzinfo=EXCHANGE_TZ)
    midnight_ns = int(day.timestamp()) * 1_000_000_000
    return LobsterFile(mm["sym"], mm["date"], levels, messages, book, midnight_ns, tuple(errs))


def lobster_instrument(zip_path: str | Path, registry: Registry = DEFAULT_REGISTRY) -> Instrument:
    """The instrument of a LOBSTER zip, from its member names alone (nothing is decompressed)."""
    with _open_zip(zip_path) as zf:
        names = zf.namelist()
    symbols = {m["sym"] for m in map(_NAME.search, names) if m}
    if len(symbols) != 1:
        raise LoaderError(f"{zip_path}: expected LOBSTER *_message_N.csv / *_orderbook_N.csv of one symbol, "
                          f"found {sorted(symbols) or 'none'}")
    return registry.get(VENUE, MARKET, symbols.pop(), source=zip_path)


def _ticks(px: np.ndarray, sz: np.ndarray, empty: int, tick: int, where: str, stats: ReplayStats) -> np.ndarray:
    out = np.where((px == empty) | (sz == 0), 0, px)
    off = (out % tick) != 0
    if off.any():
        row = int(np.argmax(off.any(axis=1)))
        stats.reject(DecodeError(E.OFF_TICK, f"{int(off.sum())} {where} prices not on the {tick} tick; "
                                 f"first in row {row + 1}", record=str(px[row].tolist())))
    return out // tick


def _tick_lot(inst: Instrument) -> tuple[int, int]:
    """The instrument's tick and lot in the file's integer units (price USD x 10000, shares)."""
    tick = inst.price_scaler.mantissa * 10 ** -inst.price_scaler.exponent if inst.price_scaler.exponent == 0 else None
    lot = inst.size_scaler.mantissa if inst.size_scaler.exponent == 0 else None
    if tick is None or lot is None:
        raise LoaderError(f"{inst.name}: LOBSTER needs an integer tick and lot, got {inst.tick}/{inst.lot}")
    return tick, lot


def _executed(m: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(is an execution, aggressor side +1 buy / -1 sell) of each message row. Types 4 and 5 execute a
    visible or a hidden resting order; the direction is that resting order's side, so direction 1 (a
    buy order was executed) is a seller-initiated trade."""
    typ = m[:, 1]
    return (typ == EXECUTE) | (typ == EXECUTE_HIDDEN), -m[:, 5]


@dataclass(frozen=True)
class Executions:
    """Every execution of one LOBSTER file, in message order (the instrument's ticks and lots)."""
    instrument: Instrument
    row: np.ndarray          # message row (= the record it belongs to in load_lobster's stream)
    ts_ns: np.ndarray        # epoch ns (exchange clock; LOBSTER has no receive time)
    px: np.ndarray           # ticks; see load_executions for prices between ticks
    lots: np.ndarray
    side: np.ndarray         # aggressor: +1 buyer-initiated, -1 seller-initiated


def load_executions(zip_path: str | Path, *, registry: Registry = DEFAULT_REGISTRY) -> Executions:
    """The trades of a LOBSTER file: each visible (type 4) or hidden (type 5) execution.

    Hidden midpoint orders execute between ticks (half a cent on the samples: 63 of AMZN's 2,445 hidden
    executions, 372 of AAPL's 11,332). Such a price is rounded away from the aggressor, down for a buy
    and up for a sell, which keeps "did this trade reach a quote on the tick grid" exact: a buyer at
    223.795 reaches an ask at 223.79 (floor) and not one at 223.80; a seller at 223.795 reaches a bid
    at 223.80 (ceil) and not one at 223.79."""
    lf = read_lobster(zip_path)
    if lf.rejected:
        raise lf.rejected[0]
    inst: Instrument = registry.get(VENUE, MARKET, lf.symbol, source=zip_path)
    tick, lot = _tick_lot(inst)
    m = lf.messages
    execd, aggressor = _executed(m)
    rows = np.flatnonzero(execd)
    side = aggressor[rows]
    price = m[rows, 4]
    px = np.where(side > 0, price // tick, -((-price) // tick))
    return Executions(inst, rows, lf.midnight_ns + m[rows, 0], px, m[rows, 3] // lot, side)


def load_lobster(zip_path: str | Path, *, levels: int = DEFAULT_LEVELS,
                 registry: Registry = DEFAULT_REGISTRY) -> tuple[np.ndarray, ReplayStats]:
    """One record per message row: the order-book row after it, plus that row's executions."""
    t0 = time.perf_counter()
    lf = read_lobster(zip_path)
    inst: Instrument = registry.get(VENUE, MARKET, lf.symbol, source=zip_path)
    stats = ReplayStats(instrument=inst, name=str(zip_path))
    for err in lf.rejected:
        stats.reject(err)
    n = len(lf.messages)
    stats.messages = n
    tick, lot = _tick_lot(inst)
    L = lf.levels
    b = lf.book
    ask_px, ask_sz = b[:, 0::4], b[:, 1::4]
    bid_px, bid_sz = b[:, 2::4], b[:, 3::4]
    out = empty_records(n, levels)
    k = min(levels, L)
    out["bid_px"][:, :k] = _ticks(bid_px, bid_sz, EMPTY_BID, tick, "bid", stats)[:, :k]
    out["ask_px"][:, :k] = _ticks(ask_px, ask_sz, EMPTY_ASK, tick, "ask", stats)[:, :k]
    out["bid_sz"][:, :k] = bid_sz[:, :k] // lot
    out["ask_sz"][:, :k] = ask_sz[:, :k] // lot
    m = lf.messages
    typ, size = m[:, 1], m[:, 3]
    execd, aggressor = _executed(m)
    out["trade_sell"] = np.where(execd & (aggressor < 0), size, 0) // lot
    out["trade_buy"] = np.where(execd & (aggressor > 0), size, 0) // lot
    out["seq"] = np.arange(n, dtype=np.uint64)
    out["ts_ns"] = lf.midnight_ns + m[:, 0]
    out["recv_ns"] = out["ts_ns"]          # LOBSTER has no receive time
    out["update_id"] = np.arange(n, dtype=np.int64)
    out["flags"] = FLAG_IN_SYNC
    if n:
        out["flags"][0] |= FLAG_RESET
    crossed = (out["bid_px"][:, 0] > 0) & (out["ask_px"][:, 0] > 0) & (out["bid_px"][:, 0] >= out["ask_px"][:, 0])
    stats.crossed = int(crossed.sum())
    stats.records = n
    stats.syncs = 1 if n else 0
    stats.in_sync = bool(n)
    stats.last_update_id = n - 1
    for t, name in ((SUBMIT, "submit"), (CANCEL, "cancel"), (DELETE, "delete"), (EXECUTE, "execute"),
                    (EXECUTE_HIDDEN, "execute_hidden"), (HALT, "halt")):
        c = int((typ == t).sum())
        if c:
            stats.events[name] = c
    stats.elapsed_s = time.perf_counter() - t0
    return out, stats


def load_lobster_stream(paths: Sequence[str | Path], *, levels: int = DEFAULT_LEVELS,
                        registry: Registry = DEFAULT_REGISTRY) -> tuple[np.ndarray, ReplayStats]:
    """Several LOBSTER zips of one symbol as one stream (each file starts with a RESET record)."""
    parts, per_file = [], []
    for p in paths:
        recs, st = load_lobster(p, levels=levels, registry=registry)
        parts.append(recs)
        per_file.append(st)
    insts = {s.instrument for s in per_file}
    if len(insts) > 1:
        raise LoaderError(f"LOBSTER files of different symbols: {sorted(i.name for i in insts)}")
    records = np.concatenate(parts)
    records["seq"] = np.arange(len(records), dtype=np.uint64)
    total = per_file[0].copy_counts()
    for st in per_file[1:]:
        for f in ("messages", "records", "syncs", "crossed"):
            setattr(total, f, getattr(total, f) + getattr(st, f))
        total.events += st.events
        total.rejected += st.rejected
        total.elapsed_s += st.elapsed_s
    total.name = ",".join(str(p) for p in paths)
    total.per_file = per_file
    total.last_update_id = per_file[-1].last_update_id
    return records, total


@dataclass
class RebuildResult:
    rows: int = 0                # rows compared (all but the first, which seeds the book)
    equal: int = 0               # rows where every level the messages determine equals the file
    revealed: int = 0            # levels that entered the visible window from beyond it (taken from the file)
    mismatches: list[str] = field(default_factory=list)


def rebuild_check(zip_path: str | Path, *, max_examples: int = 5) -> RebuildResult:
    """Rebuild the visible book from the messages alone and compare with the order-book file.

    The book is seeded from row 0. After each message the rebuilt book keeps only the top `L` levels
    (LOBSTER reports no changes beyond them). A level the messages cannot know about, one that enters
    the window from deeper in the book after a level above it vanished, is taken from the file and
    counted as `revealed`; every other level of every row must equal the file exactly.
    """
    lf = read_lobster(zip_path)
    L = lf.levels
    b = lf.book
    res = RebuildResult()
    bids: dict[int, int] = {}
    asks: dict[int, int] = {}

    def file_side(row: np.ndarray, off: int, empty: int) -> list[tuple[int, int]]:
        return [(int(row[4 * i + off]), int(row[4 * i + off + 1])) for i in range(L)
                if row[4 * i + off] != empty and row[4 * i + off + 1] != 0]

    for px, sz in file_side(b[0], 2, EMPTY_BID):
        bids[px] = sz
    for px, sz in file_side(b[0], 0, EMPTY_ASK):
        asks[px] = sz
    m = lf.messages
    for i in range(1, len(m)):
        _, typ, _, size, price, direction = (int(x) for x in m[i])
        side = bids if direction == 1 else asks
        problem = ""
        if typ == SUBMIT:
            side[price] = side.get(price, 0) + size
        elif typ in (CANCEL, DELETE, EXECUTE):
            left = side.get(price, 0) - size
            if price not in side:
                # A change at a level outside the window we track is legal only if it stays outside.
                pass
            elif left < 0:
                problem = f"message removes {size} from {side[price]} at {price}"
            elif left == 0:
                del side[price]
            else:
                side[price] = left
        row = b[i]
        ok = not problem
        for book, off, empty, rev in ((bids, 2, EMPTY_BID, True), (asks, 0, EMPTY_ASK, False)):
            want = file_side(row, off, empty)
            have = sorted(book.items(), reverse=rev)[:L]
            for px in [p for p, _ in sorted(book.items(), reverse=rev)[L:]]:
                del book[px]
            # price outside the tracked window (a change we could not see) is ignored above; the
            # tracked prefix must match, the remainder is revealed by the file.
            if have != want[:len(have)]:
                ok = False
                problem = problem or f"{'bid' if rev else 'ask'} levels {have} != file {want}"
            for px, sz in want[len(have):]:
                book[px] = sz
                res.revealed += 1
        res.rows += 1
        if ok:
            res.equal += 1
        elif len(res.mismatches) < max_examples:
            res.mismatches.append(f"row {i + 1}: {problem}")
            # Re-seed from the file so one mismatch is reported once, not on every later row.
        if not ok:
            bids = dict(file_side(row, 2, EMPTY_BID))
            asks = dict(file_side(row, 0, EMPTY_ASK))
    return res
