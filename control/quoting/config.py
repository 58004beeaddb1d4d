"""Quoting configuration: frozen dataclasses built from YAML (control/quoting/default.yaml).

Every number the policy uses lives here, with its unit in the name (`_bp`, `_lots`, `_s`, `_ns`).
Loading validates each field and raises `QuotingConfigError` naming the offending key path, so a bad
setting stops the engine at start-up instead of producing odd quotes later; nothing is silently fixed.
"""
from __future__ import annotations

import logging
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import yaml

log = logging.getLogger(__name__)

DEFAULT_CONFIG_PATH = Path(__file__).with_name("default.yaml")


class QuotingConfigError(ValueError):
    """A quoting setting is missing, has the wrong type or is out of range; the message names it."""


@dataclass(frozen=True, slots=True)
class Curve:
    """Piecewise-linear map x -> y through sorted points; flat beyond the first and last point."""

    xs: tuple[float, ...]
    ys: tuple[float, ...]
    x_flat: float = field(init=False, repr=False, compare=False)   # y == ys[0] for every x <= this

    def __post_init__(self) -> None:
        k = 0
        while k + 1 < len(self.xs) and self.ys[k + 1] == self.ys[0]:
            k += 1
        object.__setattr__(self, "x_flat", self.xs[k])

    def __call__(self, x: float) -> float:
        # The policy's curves start flat well above the base rates: most calls end at the first test.
        if x <= self.x_flat:
            return self.ys[0]
        xs, ys = self.xs, self.ys
        if x >= xs[-1]:
            return ys[-1]
        # A handful of points: a linear scan beats bisect's call overhead.
        for i in range(1, len(xs)):
            if x <= xs[i]:
                w = (x - xs[i - 1]) / (xs[i] - xs[i - 1])
                return ys[i - 1] + w * (ys[i] - ys[i - 1])
        return ys[-1]  # unreachable: x < xs[-1] was checked above


@dataclass(frozen=True, slots=True)
class RiskLimits:
    max_position_lots: int        # |position| after any fill of our quotes stays within this
    max_notional: float           # |position| x price (quote currency) after any fill stays within this
    max_quotes_per_s: int         # quote updates sent per instrument per rolling second (pulls exempt)


@dataclass(frozen=True, slots=True)
class InstrumentConfig:
    symbol: str
    tick_size: Decimal            # price of one tick (quote currency)
    lot_size: Decimal             # quantity of one lot (base currency)
    base_size_lots: int           # quote size per side before the withdrawal cut
    size_step_lots: int           # quote sizes are multiples of this (the venue's quantity step)
    min_size_lots: int            # a side whose size falls below this is pulled
    limits: RiskLimits

    def price(self, ticks: int) -> Decimal:
        return ticks * self.tick_size

    def qty(self, lots: int) -> Decimal:
        return lots * self.lot_size

    def to_ticks(self, price: Decimal | str) -> int:
        """Exact conversion of a price to ticks; raises if it is not on the tick grid."""
        return _to_grid(price, self.tick_size, f"{self.symbol} price")

    def to_lots(self, qty: Decimal | str) -> int:
        return _to_grid(qty, self.lot_size, f"{self.symbol} quantity")


@dataclass(frozen=True, slots=True)
class SpreadConfig:
    floor_bp: float               # half-spread never below this
    vol_multiplier: float         # half-spread >= vol_multiplier x sigma over vol_horizon_s
    vol_half_life_s: float        # decay of the realized-variance estimate
    vol_horizon_s: float          # horizon the volatility is scaled to


@dataclass(frozen=True, slots=True)
class PolicyConfig:
    spread: SpreadConfig
    move_widen_bp: Curve          # p(move in a direction) -> bp added to the threatened side
    withdraw_size_cut: Curve      # p(withdraw) -> fraction of size removed, in [0, 1]
    skew_bp_at_max_position: float  # both quotes shift by this (against the position) at max position
    requote_tolerance_bp: float   # a live side this close to the target price ...
    requote_size_tolerance: float  # ... and this close in size (fraction of base size) stands;
    requote_widen_fraction: float  # a live side may also be this share of the model widening wider


@dataclass(frozen=True, slots=True)
class VolSurface:
    """Implied volatility table: expiries (years) x log-moneyness ln(K/F); see control/quoting/volsurface.py."""

    expiries_y: tuple[float, ...]
    log_moneyness: tuple[float, ...]
    vols: tuple[tuple[float, ...], ...]   # vols[i][j]: expiry i, log-moneyness j


@dataclass(frozen=True, slots=True)
class OptionsConfig:
    underlying: str               # symbol of the perpetual whose mid is the forward
    price_tick: Decimal           # option premium tick (quote currency)
    qty_lot: Decimal              # option quantity step (contracts of 1 underlying unit)
    min_qty_lots: int
    max_qty_lots: int
    rate: float                   # continuously compounded discount rate
    surface: VolSurface
    base_half_spread_vol: float   # base half-spread in vol points (0.01 = 1 vol point), x vega
    min_half_spread_ticks: int    # never quote an option tighter than this on each side
    move_bp: float                # size of the move the model predicts (its label threshold), bp of F
    instability_vol_bump: float   # vol bump (0.05 = 5 vol points) applied x vega x p_withdraw
    validity_ns: int              # how long a priced RFQ quote stands
    max_abs_delta: float          # |delta x quantity| above this (underlying units) is rejected
    min_expiry_s: float           # options expiring sooner than this are not quoted
    expiry_hour_utc: int          # options expire at this hour (UTC) of their maturity date


@dataclass(frozen=True, slots=True)
class QuotingConfig:
    instruments: dict[str, InstrumentConfig]
    policy: PolicyConfig
    options: OptionsConfig | None

    def instrument(self, symbol: str) -> InstrumentConfig:
        try:
            return self.instruments[symbol]
        except KeyError:
            raise QuotingConfigError(f"no instrument {symbol!r} in the quoting config "
                                     f"(have {sorted(self.instruments)})") from None

    def with_spread(self, **changes: float) -> QuotingConfig:
        """This config with fields of `policy.spread` replaced (the backtest's static arm, tests)."""
        return replace(self, policy=replace(self.policy, spread=replace(self.policy.spread, **changes)))


# --------------------------------------------------------------------------------------------------
# Loading


def load_config(path: str | Path | None = None) -> QuotingConfig:
    """Load and validate a quoting config; the packaged default.yaml when `path` is None."""
    p = Path(path) if path is not None else DEFAULT_CONFIG_PATH
    try:
        raw = yaml.safe_load(p.read_text())
    except OSError as e:
        raise QuotingConfigError(f"cannot read quoting config {p}: {e}") from e
    except yaml.YAMLError as e:
        raise QuotingConfigError(f"{p}: not valid YAML: {e}") from e
    cfg = config_from_dict(raw, source=str(p))
    log.info("quoting config %s: instruments %s", p, sorted(cfg.instruments))
    return cfg


def config_from_dict(raw: Any, source: str = "<dict>") -> QuotingConfig:
    r = _Reader(raw, source)
    insts = r.mapping("instruments")
    if not insts:
        raise QuotingConfigError(f"{source}: instruments: at least one instrument is required")
    instruments = {sym: _instrument(r.sub("instruments", sym), sym) for sym in insts}
    policy = _policy(r.sub("policy"))
    options = _options(r.sub("options"), instruments) if r.has("options") else None
    return QuotingConfig(instruments=instruments, policy=policy, options=options)


class _Reader:
    """Typed access to a nested YAML mapping; every error names `source:key.path`."""

    def __init__(self, raw: Any, source: str, path: str = "") -> None:
        if not isinstance(raw, dict):
            raise QuotingConfigError(f"{source}:{path or '<top>'}: expected a mapping, got {type(raw).__name__}")
        self.raw, self.source, self.path = raw, source, path

    def where(self, key: str) -> str:
        return f"{self.source}:{self.path + '.' if self.path else ''}{key}"

    def has(self, key: str) -> bool:
        return key in self.raw

    def get(self, key: str) -> Any:
        if key not in self.raw:
            raise QuotingConfigError(f"{self.where(key)}: missing")
        return self.raw[key]

    def sub(self, *keys: str) -> _Reader:
        raw, path = self.raw, self.path
        for k in keys:
            if not isinstance(raw, dict) or k not in raw:
                raise QuotingConfigError(f"{self.source}:{(path + '.' if path else '') + k}: missing")
            raw, path = raw[k], (path + "." if path else "") + k
        return _Reader(raw, self.source, path)

    def mapping(self, key: str) -> dict:
        v = self.get(key)
        if not isinstance(v, dict):
            raise QuotingConfigError(f"{self.where(key)}: expected a mapping")
        return v

    def num(self, key: str, lo: float | None = None, hi: float | None = None, lo_open: bool = False) -> float:
        v = self.get(key)
        if isinstance(v, bool) or not isinstance(v, int | float):
            raise QuotingConfigError(f"{self.where(key)}: expected a number, got {v!r}")
        _check_range(self.where(key), float(v), lo, hi, lo_open)
        return float(v)

    def integer(self, key: str, lo: int | None = None, hi: int | None = None) -> int:
        v = self.get(key)
        if isinstance(v, bool) or not isinstance(v, int):
            raise QuotingConfigError(f"{self.where(key)}: expected an integer, got {v!r}")
        _check_range(self.where(key), v, lo, hi, False)
        return v

    def decimal(self, key: str) -> Decimal:
        v = self.get(key)
        # Strings keep tick sizes exact (0.1 is not a binary float); numbers are accepted via str().
        try:
            d = Decimal(str(v))
        except InvalidOperation:
            raise QuotingConfigError(f"{self.where(key)}: expected a decimal number, got {v!r}") from None
        if not d.is_finite() or d <= 0:
            raise QuotingConfigError(f"{self.where(key)}: must be > 0, got {v!r}")
        return d

    def curve(self, key: str, y_lo: float | None = None, y_hi: float | None = None) -> Curve:
        v = self.get(key)
        where = self.where(key)
        if not isinstance(v, list) or len(v) < 2:
            raise QuotingConfigError(f"{where}: expected a list of at least two [x, y] points")
        xs: list[float] = []
        ys: list[float] = []
        for i, pt in enumerate(v):
            if (not isinstance(pt, list | tuple) or len(pt) != 2
                    or any(isinstance(c, bool) or not isinstance(c, int | float) for c in pt)):
                raise QuotingConfigError(f"{where}[{i}]: expected [x, y] numbers, got {pt!r}")
            xs.append(float(pt[0]))
            ys.append(float(pt[1]))
            _check_range(f"{where}[{i}] y", ys[-1], y_lo, y_hi, False)
        if any(b <= a for a, b in zip(xs, xs[1:], strict=False)):
            raise QuotingConfigError(f"{where}: x values must be strictly increasing, got {xs}")
        if any(b < a for a, b in zip(ys, ys[1:], strict=False)):
            # A curve that falls would narrow quotes (or grow size) as the danger grows.
            raise QuotingConfigError(f"{where}: y values must not decrease, got {ys}")
        return Curve(tuple(xs), tuple(ys))


def _check_range(where: str, v: float, lo: float | None, hi: float | None, lo_open: bool) -> None:
    if v != v:
        raise QuotingConfigError(f"{where}: NaN")
    if lo is not None and (v <= lo if lo_open else v < lo):
        raise QuotingConfigError(f"{where}: must be {'>' if lo_open else '>='} {lo}, got {v}")
    if hi is not None and v > hi:
        raise QuotingConfigError(f"{where}: must be <= {hi}, got {v}")


def _to_grid(value: Decimal | str, step: Decimal, what: str) -> int:
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(f"{what}: not a number: {value!r}") from None
    q, rem = divmod(d, step)
    if rem != 0:
        raise ValueError(f"{what} {value} is not a multiple of {step}")
    return int(q)


def _instrument(r: _Reader, symbol: str) -> InstrumentConfig:
    lim = r.sub("limits")
    inst = InstrumentConfig(
        symbol=symbol,
        tick_size=r.decimal("tick_size"),
        lot_size=r.decimal("lot_size"),
        base_size_lots=r.integer("base_size_lots", lo=1),
        size_step_lots=r.integer("size_step_lots", lo=1),
        min_size_lots=r.integer("min_size_lots", lo=1),
        limits=RiskLimits(
            max_position_lots=lim.integer("max_position_lots", lo=1),
            max_notional=lim.num("max_notional", lo=0.0, lo_open=True),
            max_quotes_per_s=lim.integer("max_quotes_per_s", lo=1),
        ),
    )
    if inst.base_size_lots % inst.size_step_lots:
        raise QuotingConfigError(f"{r.where('base_size_lots')}: {inst.base_size_lots} is not a multiple "
                                 f"of size_step_lots {inst.size_step_lots}")
    if inst.min_size_lots > inst.base_size_lots:
        raise QuotingConfigError(f"{r.where('min_size_lots')}: {inst.min_size_lots} exceeds "
                                 f"base_size_lots {inst.base_size_lots}: nothing would ever be quoted")
    return inst


def _policy(r: _Reader) -> PolicyConfig:
    s = r.sub("spread")
    return PolicyConfig(
        spread=SpreadConfig(
            floor_bp=s.num("floor_bp", lo=0.0, lo_open=True),
            vol_multiplier=s.num("vol_multiplier", lo=0.0),
            vol_half_life_s=s.num("vol_half_life_s", lo=0.0, lo_open=True),
            vol_horizon_s=s.num("vol_horizon_s", lo=0.0, lo_open=True),
        ),
        move_widen_bp=r.curve("move_widen_bp", y_lo=0.0),
        withdraw_size_cut=r.curve("withdraw_size_cut", y_lo=0.0, y_hi=1.0),
        skew_bp_at_max_position=r.num("skew_bp_at_max_position", lo=0.0),
        requote_tolerance_bp=r.num("requote_tolerance_bp", lo=0.0),
        requote_size_tolerance=r.num("requote_size_tolerance", lo=0.0, hi=1.0),
        requote_widen_fraction=r.num("requote_widen_fraction", lo=0.0, hi=1.0),
    )


def _options(r: _Reader, instruments: dict[str, InstrumentConfig]) -> OptionsConfig:
    underlying = r.get("underlying")
    if underlying not in instruments:
        raise QuotingConfigError(f"{r.where('underlying')}: {underlying!r} is not a configured instrument")
    sr = r.sub("surface")
    exp = sr.get("expiries_y")
    lm = sr.get("log_moneyness")
    vols = sr.get("vols")
    where = sr.where("vols")
    for key, axis in (("expiries_y", exp), ("log_moneyness", lm)):
        if (not isinstance(axis, list) or not axis
                or any(isinstance(x, bool) or not isinstance(x, int | float) for x in axis)):
            raise QuotingConfigError(f"{sr.where(key)}: expected a non-empty list of numbers")
        if any(b <= a for a, b in zip(axis, axis[1:], strict=False)):
            raise QuotingConfigError(f"{sr.where(key)}: must be strictly increasing, got {axis}")
    if exp[0] <= 0:
        raise QuotingConfigError(f"{sr.where('expiries_y')}: expiries must be > 0 years, got {exp[0]}")
    if not isinstance(vols, list) or len(vols) != len(exp):
        raise QuotingConfigError(f"{where}: expected {len(exp)} rows (one per expiry)")
    for i, row in enumerate(vols):
        if not isinstance(row, list) or len(row) != len(lm):
            raise QuotingConfigError(f"{where}[{i}]: expected {len(lm)} vols (one per log-moneyness)")
        for j, v in enumerate(row):
            if isinstance(v, bool) or not isinstance(v, int | float) or not 0.01 <= v <= 5.0:
                raise QuotingConfigError(f"{where}[{i}][{j}]: vol must be a number in [0.01, 5], got {v!r}")
    return OptionsConfig(
        underlying=underlying,
        price_tick=r.decimal("price_tick"),
        qty_lot=r.decimal("qty_lot"),
        min_qty_lots=r.integer("min_qty_lots", lo=1),
        max_qty_lots=r.integer("max_qty_lots", lo=1),
        rate=r.num("rate", lo=-0.1, hi=1.0),
        surface=VolSurface(tuple(float(x) for x in exp), tuple(float(x) for x in lm),
                           tuple(tuple(float(v) for v in row) for row in vols)),
        base_half_spread_vol=r.num("base_half_spread_vol", lo=0.0),
        min_half_spread_ticks=r.integer("min_half_spread_ticks", lo=0),
        move_bp=r.num("move_bp", lo=0.0),
        instability_vol_bump=r.num("instability_vol_bump", lo=0.0),
        validity_ns=r.integer("validity_ns", lo=1),
        max_abs_delta=r.num("max_abs_delta", lo=0.0, lo_open=True),
        min_expiry_s=r.num("min_expiry_s", lo=0.0),
        expiry_hour_utc=r.integer("expiry_hour_utc", lo=0, hi=23),
    )
