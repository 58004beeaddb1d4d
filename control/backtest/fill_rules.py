"""The fill simulator's queue rules: what a recorded trade at exactly our quote's price does
(control/backtest/simulator.py has the mechanics). One table for the simulator, the CLIs and the
report; no heavy imports, so `quoteguard --help` can list them without loading the simulator."""
from __future__ import annotations

DEFAULT_FILL_RULE = "at_or_through"

FILL_RULES: dict[str, str] = {   # name -> what it assumes about our place in the queue
    "at_or_through": "queue position ignored, first in the queue at our price (optimistic)",
    "queue": "at the back of the displayed queue at our price, advanced only by trades (risk-averse)",
    "through": "never filled at our price, only through it (lower bound)",
}
