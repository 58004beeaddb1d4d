"""Worst timing endpoints of a nextpnr place-and-route, grouped by the RTL register they belong to.

nextpnr's own report names one critical path per clock; with `--detailed-timing-report` (set
QG_NEXTPNR_ARGS for hw/syn/open_flow.py) its JSON also lists, per net, every endpoint pin with its arrival
time. This lists the endpoints slower than the clock target, grouped by the register name the cell came
from (the packer's suffixes and bit indices stripped), worst first: which structures keep a placement
from closing timing, rather than the one path nextpnr prints.

    python -m hw.syn.worst_endpoints build/ecp5-85f/seed-1/nextpnr_report.json [--period-ns 6.667]
"""
from __future__ import annotations

import json
import re
import sys
from collections import defaultdict
from pathlib import Path

import click

# nextpnr / yosys cell-name suffixes after the RTL register name (packed flip-flops, LUTs, carry chains,
# LUT-RAM halves) and bit / generate indices
_SUFFIX = re.compile(r"(_TRELLIS_FF.*|_TRELLIS_COMB.*|_CCU2C.*|_LUT4.*|\$.*|_DPR16X4.*)$")
_INDEX = re.compile(r"\[\d+\]")
_IO_SUFFIX = "$tr_io"     # nextpnr-ecp5's IO buffer cells (`led[0]$tr_io`)
_MEM = re.compile(r"\.mem\.\d+\.\d+")


def group_name(cell: str) -> str:
    """The RTL name a packed cell came from: `core.fifo.g_slice[3].slot0_reg_TRELLIS_FF_Q_7` ->
    `core.fifo.g_slice.slot0_reg`."""
    return _INDEX.sub("", _MEM.sub(".mem", _SUFFIX.sub("", cell)))


def worst_endpoints(report: dict, period_ns: float) -> list[tuple[str, float, int]]:
    """(group, worst arrival in ns, endpoints over `period_ns`) for every group with an endpoint over it,
    worst first. `report` is nextpnr's --report JSON written with --detailed-timing-report."""
    nets = report.get("detailed_net_timings")
    if nets is None:
        raise ValueError("no detailed_net_timings in the report: place and route with --detailed-timing-report")
    arrival: dict[tuple[str, str], float] = {}
    for net in nets:
        for ep in net.get("endpoints", []):
            if ep["cell"].endswith(_IO_SUFFIX):
                continue    # a flip-flop -> pad path: not register to register, outside the clock's Fmax
            delay = ep["delay"]
            value = float(delay[-1] if isinstance(delay, list) else delay)
            key = (ep["cell"], ep["port"])
            arrival[key] = max(value, arrival.get(key, 0.0))
    groups: dict[str, list[float]] = defaultdict(list)
    for (cell, _port), value in arrival.items():
        if value > period_ns:
            groups[group_name(cell)].append(value)
    return sorted(((g, max(v), len(v)) for g, v in groups.items()), key=lambda t: -t[1])


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("report_json", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--period-ns", type=float, default=None,
              help="Endpoints slower than this (default: the period of the report's clock constraint).")
@click.option("--top", type=int, default=40, show_default=True, help="Groups to print.")
def main(report_json: Path, period_ns: float | None, top: int) -> None:
    """List the endpoints of REPORT_JSON slower than the clock target, grouped by RTL register."""
    report = json.loads(report_json.read_text())
    fmax = report.get("fmax", {})
    if period_ns is None:
        constraints = [float(v["constraint"]) for v in fmax.values() if v.get("constraint")]
        if not constraints:
            click.echo("error: no clock constraint in the report; pass --period-ns", err=True)
            sys.exit(2)
        period_ns = 1000.0 / min(constraints)
    try:
        rows = worst_endpoints(report, period_ns)
    except ValueError as exc:
        click.echo(f"error: {exc}", err=True)
        sys.exit(2)
    achieved = ", ".join(f"{v['achieved']:.2f} MHz" for v in fmax.values())
    click.echo(f"{report_json}: Fmax {achieved}; endpoints over {period_ns:.3f} ns, by register:")
    click.echo(f"{'worst ns':>8} {'count':>5}  register")
    for name, worst, count in rows[:top]:
        click.echo(f"{worst:8.2f} {count:5d}  {name}")
    if len(rows) > top:
        click.echo(f"... {len(rows) - top} more groups")


if __name__ == "__main__":
    main()
