"""QuoteGuard control plane: market data, books, backends (fpga / rtl / cpu), quoting, FIX, audit, CLI.

Never imports TensorFlow; `pynq` is imported only by control/driver/pynq_io.py."""
