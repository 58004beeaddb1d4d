"""Instrument definitions: the one place that says how a venue's decimal prices and sizes become
integer ticks and lots. Built-in entries cover the recorded data in shared/data; a YAML file can add
or override entries (`load_registry(path)`), e.g. for a live symbol we have no capture of.

YAML shape (a list; every key but `book_source`, `max_ticks`, `max_lots` is required):

    - {venue: binance, market: usdm, symbol: SOLUSDT, tick: "0.01", lot: "1"}
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path

import yaml

from control.marketdata.numbers import Scaler

# The card carries prices as i32 ticks and sizes as u32 lots (models/FEATURES.md); anything beyond
# that cannot be represented downstream and is rejected as absurd at the decoder.
MAX_TICKS = 2**31 - 1
MAX_LOTS = 2**32 - 1

BOOK_DEPTH = "depth"   # L2 book from snapshot + depth diffs
BOOK_BBO = "bbo"       # one-level book from best bid/offer messages (no snapshot available)


class UnknownInstrumentError(KeyError):
    """No instrument is registered under the requested key."""

    def __str__(self) -> str:   # KeyError's own str() quotes the message like a key: print it as text
        return str(self.args[0]) if self.args else ""


@dataclass(frozen=True)
class Instrument:
    venue: str          # "binance", "lobster"
    market: str         # "usdm" (USD-M futures), "spot", "nasdaq"
    symbol: str         # venue spelling, upper case ("BTCUSDT", "AMZN")
    tick: str           # price step as decimal text in the venue's price unit
    lot: str            # size step as decimal text in the venue's size unit
    book_source: str = BOOK_DEPTH
    max_ticks: int = MAX_TICKS
    max_lots: int = MAX_LOTS
    price_scaler: Scaler = field(init=False, repr=False, compare=False)
    size_scaler: Scaler = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.book_source not in (BOOK_DEPTH, BOOK_BBO):
            raise ValueError(f"{self.key}: book_source must be {BOOK_DEPTH!r} or {BOOK_BBO!r}")
        object.__setattr__(self, "price_scaler", Scaler.of(self.tick))
        object.__setattr__(self, "size_scaler", Scaler.of(self.lot))

    @property
    def key(self) -> tuple[str, str, str]:
        return (self.venue, self.market, self.symbol)

    @property
    def name(self) -> str:
        return f"{self.venue}:{self.market}:{self.symbol}"

    def price_text(self, ticks: int) -> str:
        return self.price_scaler.from_units(ticks)

    def size_text(self, lots: int) -> str:
        return self.size_scaler.from_units(lots)

    def price_float(self, ticks: int) -> float:
        """For display and plots only; the books never hold floats."""
        return ticks * self.price_scaler.mantissa / 10 ** self.price_scaler.exponent


BUILTIN: tuple[Instrument, ...] = (
    Instrument("binance", "usdm", "BTCUSDT", tick="0.1", lot="0.001"),
    Instrument("binance", "usdm", "ETHUSDT", tick="0.01", lot="0.001"),
    # The recorded spot capture has no REST snapshot, so its book is the bookTicker BBO.
    Instrument("binance", "spot", "BTCUSDT", tick="0.01", lot="0.00001", book_source=BOOK_BBO),
    # LOBSTER prices are USD x 10000: one cent is 100 units. Sizes are shares.
    Instrument("lobster", "nasdaq", "AMZN", tick="100", lot="1"),
    Instrument("lobster", "nasdaq", "AAPL", tick="100", lot="1"),
)


class Registry:
    """Instruments by (venue, market, symbol)."""

    def __init__(self, instruments: Iterable[Instrument] = BUILTIN) -> None:
        self._by_key: dict[tuple[str, str, str], Instrument] = {}
        for inst in instruments:
            self._by_key[inst.key] = inst

    def get(self, venue: str, market: str, symbol: str, *, source: object = None) -> Instrument:
        """The instrument under (venue, market, symbol); `source` (the file that names it) leads the error."""
        try:
            return self._by_key[(venue, market, symbol.upper())]
        except KeyError:
            raise UnknownInstrumentError(
                ("" if source is None else f"{source}: ")
                + f"no instrument {venue}:{market}:{symbol}; known: {', '.join(sorted(i.name for i in self))}"
            ) from None

    def with_overrides(self, entries: Iterable[Mapping[str, object]]) -> Registry:
        merged = dict(self._by_key)
        for raw in entries:
            entry = dict(raw)
            key = (str(entry["venue"]), str(entry["market"]), str(entry["symbol"]).upper())
            base = merged.get(key)
            if base is not None:
                fields = {k: v for k, v in entry.items() if k not in ("venue", "market", "symbol")}
                merged[key] = replace(base, **fields)
            else:
                entry["symbol"] = key[2]
                merged[key] = Instrument(**entry)  # type: ignore[arg-type]
        return Registry(merged.values())

    def __iter__(self):
        return iter(self._by_key.values())


DEFAULT_REGISTRY = Registry()


def load_registry(path: str | Path | None = None) -> Registry:
    """The built-in registry, with the entries of the YAML file at `path` added or overriding."""
    if path is None:
        return DEFAULT_REGISTRY
    entries = yaml.safe_load(Path(path).read_text()) or []
    if not isinstance(entries, list):
        raise ValueError(f"{path}: expected a list of instrument entries")
    return DEFAULT_REGISTRY.with_overrides(entries)
