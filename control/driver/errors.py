"""Exceptions raised by the driver and its transports. Backends turn them into failover reasons."""

from __future__ import annotations


class DriverError(Exception):
    """Base class of every driver failure."""


class TransportError(DriverError):
    """The transport (board, DMA, simulator bridge) failed or went away."""


class TransportTimeout(TransportError):
    """The card did not answer within the deadline (stalled stream, hung simulator)."""


class TransportClosed(TransportError):
    """The transport was closed, or its peer process died."""


class UnknownRegister(DriverError, KeyError):
    """A register name that the generated register map does not define."""


class RegisterAccessError(DriverError):
    """A write to a read-only register, or a value that does not fit in 32 bits."""


class IdentityMismatch(DriverError):
    """The card's ID, regmap version or model hash differs from what the host expects."""
