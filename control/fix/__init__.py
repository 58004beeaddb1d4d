"""FIX 4.4 for QuoteGuard: framing, dictionary validation, a sans-IO session with a persistent store,
an RFQ acceptor (also usable as the venue) and a quote-streaming initiator over asyncio TCP.

See control/fix/README.md."""
