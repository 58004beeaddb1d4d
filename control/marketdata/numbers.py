"""Exact decimal-string -> integer-unit conversion (prices to ticks, sizes to lots).

No float and no Decimal on the hot path: "63943.90" with a 0.1 tick is 6394390 hundredths, i.e.
639439 ticks, computed with int() and one exact integer division whose remainder must be zero.
"""
from __future__ import annotations

from dataclasses import dataclass

from control.marketdata.errors import BAD_NUMBER, DecodeError

_DIGITS = frozenset("0123456789")


def parse_step(step: str) -> tuple[int, int]:
    """'0.001' -> (1, 3): the step is mantissa * 10**-exponent. Integer steps ('100') give (100, 0)."""
    m, e = split_decimal(step)
    if m <= 0:
        raise ValueError(f"step must be positive, got {step!r}")
    return m, e


def split_decimal(text: str) -> tuple[int, int]:
    """'-12.340' -> (-12340, 3). Plain decimal notation only: optional '-', digits, optional '.digits'.
    Raises DecodeError(BAD_NUMBER) for anything else (exponents, '+', spaces, 'nan', empty parts)."""
    if not isinstance(text, str):
        raise DecodeError(BAD_NUMBER, f"expected a decimal string, got {type(text).__name__}", record=repr(text))
    body = text[1:] if text[:1] == "-" else text
    ip, dot, fp = body.partition(".")
    if not ip or (dot and not fp) or not _DIGITS.issuperset(ip) or not _DIGITS.issuperset(fp):
        raise DecodeError(BAD_NUMBER, f"not a plain decimal number: {text[:40]!r}")
    value = int(ip + fp)
    return (-value if body is not text else value), len(fp)


@dataclass(frozen=True, slots=True)
class Scaler:
    """Converts decimal strings to whole multiples of one step ('0.1' tick, '0.001' lot).

    `to_units(text)` returns (units, exact): exact is False when the value is not a whole number of
    steps; callers turn that into their own OFF_TICK / OFF_LOT error. Results per fraction length are
    cached as (multiplier, divisor) pairs so each call is one int() and one divmod.
    """

    step: str
    mantissa: int
    exponent: int

    @classmethod
    def of(cls, step: str) -> Scaler:
        m, e = parse_step(step)
        return cls(step, m, e)

    def factors(self, frac_digits: int) -> tuple[int, int]:
        # value = digits * 10**-f ; units = value / (m * 10**-e) = digits * 10**(e-f) / m
        shift = self.exponent - frac_digits
        if shift >= 0:
            return 10 ** shift, self.mantissa
        return 1, self.mantissa * 10 ** (-shift)

    def to_units(self, text: str) -> tuple[int, bool]:
        digits, frac = split_decimal(text)
        mul, div = self.factors(frac)
        q, r = divmod(digits * mul, div)
        return q, r == 0

    def from_units(self, units: int) -> str:
        """Exact decimal text of `units` steps (for display and round-trip tests)."""
        value = units * self.mantissa
        if self.exponent == 0:
            return str(value)
        sign = "-" if value < 0 else ""
        s = str(abs(value)).rjust(self.exponent + 1, "0")
        return f"{sign}{s[:-self.exponent]}.{s[-self.exponent:]}"
