"""`quoteguard demo`: the bundled real Binance capture through the appliance, quotes over FIX 4.4 to our
own venue on 127.0.0.1, a short summary and a report folder."""

from __future__ import annotations

import json
import logging
import sys
from pathlib import Path

import click

from control.cli.options import backend_options, quoting_config_option
from control.demo.orchestrate import (
    BACKEND_CHOICES,
    DEFAULT_DATA,
    DEFAULT_RTL_RECORDS,
    REPO,
    DemoError,
    DemoSettings,
)

log = logging.getLogger(__name__)

DEFAULT_REPORT = REPO / "reports" / "demo"
EXIT_FAILURE = 1


def _stage_table(lat: dict) -> list[str]:
    out = [f"    {'stage':13s} {'p50':>9s} {'p99':>9s} {'p99.9':>9s} {'n':>7s}   (µs)"]
    for stage, v in lat.items():
        out.append(f"    {stage:13s} {v['p50']:9.1f} {v['p99']:9.1f} {v['p99.9']:9.1f} {v['n']:7d}")
    return out


def _text(s: dict) -> list[str]:
    from control.demo.report import backend_line

    q, f, m, be, rs = s["quotes"], s["fix"], s["model"], s["bit_exact"], s["rtl_slice"]
    by = ", ".join(f"{n} {k}" for k, n in s["predictions_by_backend"].items())
    lines = [
        f"QuoteGuard demo: {s['symbol']}, {len(s['data'])} capture(s): {', '.join(s['data'])}",
        f"  backend      {backend_line(s)}",
    ]
    lines += [f"  note         {n}" for n in s["backend"]["notes"]]
    if be is not None:
        verdict = "identical" if be["identical"] else f"{be['mismatched']} DIFFER (bit-exact contract broken)"
        lines.append(
            f"  bit-exact    {be['hardware']} vs CPU reference on the overlap: {be['compared']} records, "
            f"logits + INVALID flags {verdict}"
        )
    lines += [
        f"  events       {s['lines']} lines, {s['events']} events, {s['predictions']} predictions ({by}); "
        f"{s['refused_records']} refused, {s['undecodable_lines']} undecodable",
        f"  quotes       {q['sent']} sent, {q['widened']} widened, {q['size_cut']} size-cut, "
        f"{q['pulled']} pulled ({q['unchanged']} decisions left the quote standing)",
        f"  FIX 4.4      venue {f['venue']} received {f['messages_received_by_venue']}/{f['messages_sent']} "
        f"quote messages, seq {f['first_seq']}..{f['last_seq']} "
        f"{'contiguous' if f['seq_contiguous'] else 'NOT contiguous'}, {f['rejects']} rejects",
    ]
    lines += [f"  FIX PROBLEM  {p}" for p in f["problems"]]
    lines.append("  latency      per stage, CPU path (behind the demo's slice backend, with the FIX session in-process;")
    lines.append("               the appliance's fused per-line path alone: bench/end_to_end.py, README):")
    lines += _stage_table(s["latency_us"])
    if rs is not None and rs["round_trip_us"] is not None:
        rt = rs["round_trip_us"]
        extra = ""
        if rs.get("datapath_ns_at_sim_clock"):
            extra = (
                f"; datapath {[c + 1 for c in rs['card_cycles_t_out_minus_t_in']]} cycles = "
                f"{rs['datapath_ns_at_sim_clock']} ns at the {rs['sim_clock_ns']} ns sim clock"
            )
        lines.append(
            f"  {rs['backend']} slice    {rs['records']} records, host round trip p50 {rt['p50'] / 1e3:.2f} ms, "
            f"p99 {rt['p99'] / 1e3:.2f} ms{extra}"
        )
        lines += [f"  FAULT        {x['backend']} at seq {x['at_seq']}: {x['detail']}" for x in rs["faults"]]
    lines.append(f"  model        {m['name']} {m['hash']}")
    if m["firmware_hash"] is not None:
        lines.append(
            f"  firmware     {m['firmware_hash']} (card model {m['card_model_hash'][:16]}..., "
            f"regmap v{m['regmap_version']}, core {m['core_id']})"
        )
    else:
        lines.append("  firmware     none (CPU reference)")
    rep = s["report"]
    lines.append(f"  report       {rep['dir']}/ ({', '.join(rep['files'])})")
    mc = s["machine"]
    lines.append(
        f"  result       {'OK' if s['ok'] else 'FAILED'} in {s['wall_s']} s "
        f"({mc['cpus']} CPUs, load average {mc['load_avg_at_start'][0]} at start)"
    )
    return lines


@click.command("demo")
@click.option(
    "--data",
    "data",
    multiple=True,
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="Recorded capture(s) of one instrument, replayed in order [default: the bundled BTCUSDT capture].",
)
@click.option(
    "--rtl-records",
    type=int,
    default=DEFAULT_RTL_RECORDS,
    show_default=True,
    help="Records run on the RTL in Icarus (and checked against the CPU) before the CPU takes over; 0 skips.",
)
@click.option(
    "--backend",
    type=click.Choice(BACKEND_CHOICES),
    default="auto",
    show_default=True,
    help="auto: card > RTL slice + CPU > CPU, by what is here; rtl: require the RTL slice.",
)
@backend_options
@quoting_config_option
@click.option(
    "--report",
    "report_dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=DEFAULT_REPORT,
    show_default=True,
    help="Report folder (report.md, summary.json, PNG plots).",
)
@click.option(
    "--build-dir",
    type=click.Path(file_okay=False, path_type=Path),
    default=REPO / "build" / "demo",
    show_default=True,
    help="Scratch folder (simulator build and bridge socket).",
)
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def demo(
    *,
    data: tuple[Path, ...],
    rtl_records: int,
    backend: str,
    model: str,
    artifacts: Path | None,
    firmware: Path | None,
    quoting_config: Path | None,
    report_dir: Path,
    build_dir: Path,
    as_json: bool,
) -> None:
    """Replay the bundled real Binance capture through the appliance: decode, book, predict (the RTL in
    Icarus for a short slice, checked bit-exact against the CPU reference, then the CPU reference),
    quote, and send the quotes over FIX 4.4 to our own acceptor in venue role on 127.0.0.1. Prints a
    summary and writes a report folder.

    \b
    Examples:
      quoteguard demo
      quoteguard demo --rtl-records 0 --json
      quoteguard demo --data tests/data/binance/btcusdt_20240718.gz --rtl-records 200 --report build/r
    \b
    Exit codes: 0 ok; 1 a check failed (bit-exact overlap, venue received other than we sent, FIX
    session); 2 bad input, missing model artifacts, or a required backend unavailable.
    """
    from control.demo.orchestrate import run_demo
    from control.demo.report import write_report

    settings = DemoSettings(
        data=data or DEFAULT_DATA,
        backend=backend,
        rtl_records=rtl_records,
        model=model,
        artifacts=artifacts,
        firmware=firmware,
        quoting_config=quoting_config,
        build_dir=build_dir,
    )

    def phase(msg: str) -> None:
        if not as_json:
            click.echo(msg, err=True)

    show_bar = not as_json and sys.stderr.isatty()
    total = 0
    if show_bar:
        from control.appliance import iter_lines

        total = sum(1 for _ in iter_lines(settings.data))
    try:
        with click.progressbar(length=total, label="replaying", file=sys.stderr, hidden=not show_bar) as bar:
            result = run_demo(settings, on_phase=phase, progress=bar.update)
        summary, _ = write_report(result, report_dir)
    except DemoError as e:
        click.echo(f"error: {e}", err=True)
        sys.exit(e.code)
    except OSError as e:
        click.echo(f"error: cannot write the report to {report_dir}: {e}", err=True)
        sys.exit(EXIT_FAILURE)
    if as_json:
        click.echo(json.dumps(summary, indent=1, default=str))
    else:
        for line in _text(summary):
            click.echo(line)
    sys.exit(0 if summary["ok"] else EXIT_FAILURE)
