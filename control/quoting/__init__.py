"""Quoting engine (issue 7): spread/size policy, risk limits and option RFQ pricing.

Public API (see control/quoting/README.md):
  load_config, QuotingConfig, QuotingConfigError        -- configuration
  QuotingEngine, QuoteDecision, Action, Side, Reason,
  ReasonCode, SideQuote                                  -- streaming two-sided quotes
  RfqPricer, RfqRequest, RfqSide, OptionContract,
  OptionKind, RfqQuote, RfqReject, RfqRejectCode         -- option RFQ pricing
"""
from control.quoting.black76 import OptionKind
from control.quoting.config import QuotingConfig, QuotingConfigError, load_config
from control.quoting.engine import QuotingEngine
from control.quoting.rfq import (
    OptionContract,
    RfqPricer,
    RfqQuote,
    RfqReject,
    RfqRejectCode,
    RfqRequest,
    RfqSide,
)
from control.quoting.types import Action, QuoteDecision, Reason, ReasonCode, Side, SideQuote

__all__ = [
    "Action", "OptionContract", "OptionKind", "QuoteDecision", "QuotingConfig", "QuotingConfigError",
    "QuotingEngine", "Reason", "ReasonCode", "RfqPricer", "RfqQuote", "RfqReject", "RfqRejectCode",
    "RfqRequest", "RfqSide", "Side", "SideQuote", "load_config",
]
