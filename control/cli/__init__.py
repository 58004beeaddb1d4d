"""`quoteguard` console script. Each verb group lives in its own module and is imported only when
used, so `quoteguard feed ...` never pays for the model or the driver stack."""
from __future__ import annotations

import importlib
import logging

import click

# command name -> (module, attribute, one-line help shown in `quoteguard --help`)
COMMANDS: dict[str, tuple[str, str, str]] = {
    "feed": ("control.cli.feed", "feed", "Replay or stream venue market data into books."),
    "model": ("control.cli.model", "model", "Train, evaluate and export the quantized model."),
    "fw": ("control.cli.fw", "fw", "Inspect, verify and load firmware images."),
    "regs": ("control.cli.regs", "regs", "Read and write card registers by name."),
    "run": ("control.cli.run", "run", "Run the appliance: feed -> backend -> quoting -> FIX."),
    "backtest": ("control.cli.backtest", "backtest", "Backtest the model-driven quoting policy."),
    "bench": ("control.cli.bench", "bench", "Run the benchmarks and print one table."),
    "status": ("control.cli.status", "status", "Show backend, firmware identity, counters, health."),
    "demo": ("control.cli.demo", "demo", "The main job on bundled real data: replay, predict, quote over FIX, report."),
}


class LazyGroup(click.Group):
    """A click group whose subcommands are imported on first use."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return list(COMMANDS)

    def get_command(self, ctx: click.Context, name: str) -> click.Command | None:
        if name not in COMMANDS:
            return None
        module, attr, _ = COMMANDS[name]
        return getattr(importlib.import_module(module), attr)

    def format_commands(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        # Use the static one-liners so `--help` imports nothing heavy.
        with formatter.section("Commands"):
            formatter.write_dl([(name, text) for name, (_, _, text) in COMMANDS.items()])


@click.group(cls=LazyGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.option("-v", "--verbose", count=True, help="More logging (-v info, -vv debug).")
@click.version_option(package_name="quoteguard")
def main(verbose: int) -> None:
    """QuoteGuard: predict price jumps and liquidity withdrawal from live order books, on an FPGA
    or its bit-exact CPU reference, and steer a market maker's quotes over FIX 4.4.

    \b
    Start here:
      quoteguard feed replay tests/data/binance/btcusdt_20240718.gz --stats
      quoteguard run --backend cpu --dry-run --quiet tests/data/binance/btcusdt_20240718.gz
      quoteguard demo
      quoteguard status
    \b
    Exit codes: 0 ok, 1 failure (e.g. verification mismatch), 2 usage error or missing tool.
    """
    level = logging.WARNING if verbose == 0 else logging.INFO if verbose == 1 else logging.DEBUG
    logging.basicConfig(level=level, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
