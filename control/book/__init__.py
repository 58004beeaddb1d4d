"""Order books: the L2 book per (venue, symbol), the venue sync rules (snapshot + diff alignment,
gap detection, re-sync), the top-N record builder, the streaming processor and the replay loader."""
