"""`quoteguard feed replay|live|stats`: market data into books, with counts and book statistics."""
from __future__ import annotations

import asyncio
import json
import sys
from pathlib import Path

import click

from control.cli.options import columns_table
from control.marketdata.errors import LoaderError
from control.marketdata.instruments import UnknownInstrumentError

EXIT_OK, EXIT_FAIL, EXIT_USAGE = 0, 1, 2


def _registry(path: str | None):
    from control.marketdata.instruments import load_registry

    return load_registry(path)


def _streams(files: tuple[str, ...], venue: str | None, registry=None) -> list[list[str]]:
    """Consecutive files of the same instrument form one stream (a session continued across
    midnight keeps its book); anything else starts a new stream."""
    from control.marketdata.instruments import DEFAULT_REGISTRY
    from control.marketdata.source import FORMAT_LOBSTER, detect_format, head_lines, sniff_binance

    registry = registry or DEFAULT_REGISTRY
    groups: list[list[str]] = []
    last = None
    for f in files:
        fmt = detect_format(f, venue)
        key = ("lobster", f) if fmt == FORMAT_LOBSTER else sniff_binance(head_lines(f), f, registry).key
        if groups and key == last and fmt != FORMAT_LOBSTER:
            groups[-1].append(f)
        else:
            groups.append([f])
        last = key
    return groups


def _fmt_counter(c: dict) -> str:
    return ", ".join(f"{k} {v}" for k, v in c.items()) or "-"


@click.group()
def feed() -> None:
    """Replay recorded captures or stream live venue data into L2 books."""


@feed.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--venue", type=click.Choice(["binance", "lobster"]), default=None,
              help="Input format (default: detected from content and name).")
@click.option("--levels", type=click.IntRange(1, 100), default=10, show_default=True, help="Levels per side.")
@click.option("--stats", "show_stats", is_flag=True, help="Add book statistics and refused-record examples.")
@click.option("--instruments", type=click.Path(exists=True, dir_okay=False), default=None,
              help="YAML file adding or overriding instrument definitions.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
def replay(*, files: tuple[str, ...], venue: str | None, levels: int, show_stats: bool, instruments: str | None,
           as_json: bool) -> None:
    """Replay FILE... through decoder and book; print per-file counts.

    Consecutive files of one instrument are one stream: the book carries across them.

    \b
    Examples:
      quoteguard feed replay tests/data/binance/btcusdt_20240718.gz
      quoteguard feed replay ../shared/data/binance/usdm/btcusdt_20240718.gz \\
                             ../shared/data/binance/usdm/btcusdt_20240719.gz --stats
      quoteguard feed replay ../shared/data/lobster/LOBSTER_SampleFile_AMZN_2012-06-21_5.zip --json
    """
    from control.book.profile import profile
    from control.book.replay import load_records

    out = []
    try:
        registry = _registry(instruments)
        for group in _streams(files, venue, registry):
            recs, st = load_records(group, levels=levels, venue=venue, registry=registry)
            files_st = st.per_file or [st]
            entry = {"stream": st.instrument.name if st.instrument else "?",
                     "files": [f.to_dict() for f in files_st]}
            if show_stats:
                entry["book"] = profile(recs).to_dict()
            out.append(entry)
    except (LoaderError, UnknownInstrumentError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_FAIL)
    if as_json:
        click.echo(json.dumps(out, indent=2))
        return
    rows = []
    for entry in out:
        for f in entry["files"]:
            rows.append((Path(f["name"]).name, entry["stream"], f["messages"], f["records"],
                         f["gaps"], f["resyncs"], f["rejected_total"], f["crossed"],
                         "yes" if f["in_sync"] else "no", f"{f['messages_per_s']:,.0f}"))
    click.echo(columns_table(rows, ("file", "instrument", "messages", "records", "gaps", "resyncs",
                             "rejected", "crossed", "in sync", "msg/s")))
    for entry in out:
        for f in entry["files"]:
            click.echo(f"\n{Path(f['name']).name}: events: {_fmt_counter(f['events'])}")
            click.echo(f"  rejected: {_fmt_counter(f['rejected'])}; stale diffs {f['stale_diffs']}, "
                       f"unsynced diffs {f['unsynced_diffs']}")
            if show_stats:
                for reason, exs in f["examples"].items():
                    for ex in exs:
                        click.echo(f"  [{reason}] {ex}")
        if show_stats:
            _echo_profile(entry["stream"], entry["book"])


def _echo_profile(name: str, b: dict) -> None:
    click.echo(f"\nbook {name}: {b['records']} records ({b['in_sync']} in sync) over {b['duration_s']:.1f} s "
               f"exchange time, {b['updates_per_s']:.1f} updates/s; one-tick spread {b['one_tick_share']:.2%}; "
               f"one-sided {b['one_sided']}, crossed {b['crossed']}")
    click.echo(f"  trades: buyer-initiated {b['trades_buy_lots']} lots, seller-initiated {b['trades_sell_lots']} lots")
    keys = list(b["spread_ticks"])
    rows = [(label, *(f"{b[k][p]:,.1f}" for p in keys)) for label, k in (
        ("spread (ticks)", "spread_ticks"), ("touch bid (lots)", "touch_bid_lots"),
        ("touch ask (lots)", "touch_ask_lots"), ("depth bid (lots)", "depth_bid_lots"),
        ("depth ask (lots)", "depth_ask_lots"))]
    click.echo(columns_table(rows, ("", *keys)))


@feed.command()
@click.argument("files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False))
@click.option("--venue", type=click.Choice(["binance", "lobster"]), default=None,
              help="Input format (default: detected).")
@click.option("--levels", type=click.IntRange(1, 100), default=10, show_default=True, help="Levels per side.")
@click.option("--check/--no-check", default=True, show_default=True,
              help="Cross-check Binance depth books against bookTicker; LOBSTER books against messages.")
@click.option("--instruments", type=click.Path(exists=True, dir_okay=False), default=None,
              help="YAML file adding or overriding instrument definitions.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of tables.")
def stats(*, files: tuple[str, ...], venue: str | None, levels: int, check: bool, instruments: str | None,
          as_json: bool) -> None:
    """Book statistics per stream: spread and depth distributions, update and trade rates, and an
    independent cross-check of the rebuilt book. Exit 1 if a cross-check falls below 99.9%.

    \b
    Examples:
      quoteguard feed stats tests/data/binance/btcusdt_20240718.gz
      quoteguard feed stats ../shared/data/lobster/LOBSTER_SampleFile_AAPL_2012-06-21_1.zip --json
    """
    from control.book.crosscheck import bbo_agreement
    from control.book.profile import profile
    from control.book.replay import load_records
    from control.marketdata.lobster import rebuild_check
    from control.marketdata.source import FORMAT_LOBSTER, detect_format

    out, ok = [], True
    try:
        registry = _registry(instruments)
        for group in _streams(files, venue, registry):
            recs, st = load_records(group, levels=levels, venue=venue, registry=registry)
            entry = {"stream": st.instrument.name if st.instrument else "?", "files": group,
                     "book": profile(recs).to_dict(), "checks": []}
            if check and detect_format(group[0], venue) == FORMAT_LOBSTER:
                for f in group:
                    r = rebuild_check(f)
                    entry["checks"].append({"file": f, "kind": "rebuild_from_messages", "compared": r.rows,
                                            "equal": r.equal, "revealed_levels": r.revealed,
                                            "examples": r.mismatches})
            elif check and st.instrument and st.instrument.book_source == "depth":
                for r in bbo_agreement(group, registry=registry):
                    entry["checks"].append({"file": r.name, "kind": "bookTicker_agreement",
                                            "compared": r.compared, "equal": r.equal, "examples": r.examples})
            for c in entry["checks"]:
                c["ratio"] = c["equal"] / c["compared"] if c["compared"] else None
                ok = ok and (c["ratio"] is None or c["ratio"] >= 0.999)
            out.append(entry)
    except (LoaderError, UnknownInstrumentError) as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_FAIL)
    if as_json:
        click.echo(json.dumps(out, indent=2))
    else:
        for entry in out:
            _echo_profile(entry["stream"], entry["book"])
            for c in entry["checks"]:
                ratio = "n/a (nothing to compare)" if c["ratio"] is None else f"{c['ratio']:.4%}"
                click.echo(f"  check {c['kind']} {Path(c['file']).name}: {c['equal']}/{c['compared']} equal = {ratio}")
                for ex in c["examples"]:
                    click.echo(f"    {ex}")
    sys.exit(EXIT_OK if ok else EXIT_FAIL)


@feed.command()
@click.option("--venue", type=click.Choice(["binance"]), default="binance", show_default=True, help="Venue.")
@click.option("--symbol", required=True, help="Venue symbol, e.g. BTCUSDT.")
@click.option("--market", type=click.Choice(["usdm", "spot"]), default="usdm", show_default=True)
@click.option("--levels", type=click.IntRange(1, 100), default=10, show_default=True, help="Levels per side.")
@click.option("--ws-url", default=None, help="Base WebSocket URL (default: Binance's public endpoint).")
@click.option("--rest-url", default=None, help="REST depth snapshot URL (default: Binance's public endpoint).")
@click.option("--max-messages", type=click.IntRange(1), default=None, help="Stop after this many frames.")
@click.option("--duration", type=click.FloatRange(0, min_open=True), default=None, help="Stop after seconds.")
@click.option("--instruments", type=click.Path(exists=True, dir_okay=False), default=None,
              help="YAML file adding or overriding instrument definitions.")
@click.option("--json", "as_json", is_flag=True, help="Print JSON instead of a table.")
def live(*, venue: str, symbol: str, market: str, levels: int, ws_url: str | None, rest_url: str | None,
         max_messages: int | None, duration: float | None, instruments: str | None, as_json: bool) -> None:
    """Stream live depth, bookTicker and trades into the book (needs a network); prints the top of
    book as records arrive and the counts at the end. Reconnects and re-snapshots by itself.

    \b
    Examples:
      quoteguard feed live --venue binance --symbol BTCUSDT --duration 60
      quoteguard feed live --symbol BTCUSDT --ws-url ws://127.0.0.1:9000/stream \\
                           --rest-url http://127.0.0.1:9001/depth --max-messages 5000 --json
    """
    from control.book.stream import FeedProcessor
    from control.marketdata.instruments import load_registry
    from control.marketdata.live import LiveConfig, LiveFeed, LiveFeedError

    try:
        inst = load_registry(instruments).get(venue, market, symbol)
    except UnknownInstrumentError as exc:
        click.echo(f"error: {exc.args[0]}", err=True)
        sys.exit(EXIT_USAGE)
    cfg = LiveConfig.for_instrument(inst, ws_base=ws_url, rest_url=rest_url)
    feed_ = LiveFeed(cfg, FeedProcessor(inst, levels=levels, source="live"))
    last = {"n": 0}

    def show(recs) -> None:
        last["n"] += len(recs)
        if not as_json:
            r = recs[-1]
            click.echo(f"{int(r['seq']):>8}  u={int(r['update_id'])}  bid {inst.price_text(int(r['bid_px'][0]))} "
                       f"x {inst.size_text(int(r['bid_sz'][0]))}  ask {inst.price_text(int(r['ask_px'][0]))} "
                       f"x {inst.size_text(int(r['ask_sz'][0]))}")

    try:
        st = asyncio.run(feed_.run(show, max_messages=max_messages, duration_s=duration))
    except LiveFeedError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(EXIT_FAIL)
    except KeyboardInterrupt:
        st = feed_.stats
    result = st.to_dict() | {"reconnects": feed_.reconnects, "snapshot_requests": feed_.snapshot_requests}
    if as_json:
        click.echo(json.dumps(result, indent=2))
    else:
        click.echo(columns_table([(inst.name, result["messages"], result["records"], result["gaps"], result["resyncs"],
                            result["rejected_total"], result["reconnects"], result["snapshot_requests"])],
                          ("instrument", "messages", "records", "gaps", "resyncs", "rejected", "reconnects",
                           "snapshots")))
