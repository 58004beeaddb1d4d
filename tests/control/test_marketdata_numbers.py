"""Exact decimal -> tick/lot conversion."""
from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from control.marketdata.errors import DecodeError
from control.marketdata.numbers import Scaler, split_decimal


@pytest.mark.parametrize(("step", "text", "units", "exact"), [
    ("0.1", "63943.90", 639439, True),
    ("0.1", "63943.95", 639439, False),
    ("0.01", "3424.98", 342498, True),
    ("0.001", "46.372", 46372, True),
    ("0.00001", "0.00056000", 56, True),
    ("100", "2238200", 22382, True),
    ("100", "2238250", 22382, False),
    ("0.1", "0", 0, True),
])
def test_to_units(step: str, text: str, units: int, exact: bool) -> None:
    assert Scaler.of(step).to_units(text) == (units, exact)


@pytest.mark.parametrize("bad", ["", ".", "1.", ".5", "1e5", "+1", " 1", "1 ", "nan", "1.2.3", "١٢", "--1", "0x10"])
def test_split_decimal_rejects(bad: str) -> None:
    with pytest.raises(DecodeError) as exc:
        split_decimal(bad)
    assert exc.value.reason == "bad_number"


@given(units=st.integers(min_value=-(10**15), max_value=10**15),
       step=st.sampled_from(["0.1", "0.01", "0.001", "0.00001", "1", "100", "0.25"]))
def test_round_trip(units: int, step: str) -> None:
    s = Scaler.of(step)
    text = s.from_units(units)
    digits, _ = split_decimal(text)
    assert s.to_units(text) == (units, True)
    assert (digits < 0) == (units < 0)
