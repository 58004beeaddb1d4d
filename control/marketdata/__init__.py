"""Market-data ingestion: venue decoders (sans-IO), instruments, recorded-file sources and the live
WebSocket client. Everything here turns venue bytes into normalized events with exact integer prices
(ticks) and sizes (lots); the books live in control/book."""
