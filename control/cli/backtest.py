"""`quoteguard backtest`: replay recorded data through the quoting engine with a fill simulator and
compare the model-driven policy with a static-spread baseline."""
from __future__ import annotations

import json
import logging
from pathlib import Path

import click

from control.backtest.fill_rules import DEFAULT_FILL_RULE, FILL_RULES

log = logging.getLogger(__name__)


@click.command("backtest")
@click.argument("data", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--model", "model", default="qg_mlp", show_default=True,
              help="Model name (models/<name>) or config.yaml path; its artifacts/ give the predictions.")
@click.option("--no-model", is_flag=True, help="Run the baselines only (no predictions).")
@click.option("--latency-ms", type=click.FloatRange(min=0), default=5.0, show_default=True,
              help="Decision-to-live latency of a quote (receive clock).")
@click.option("--fill-rule", type=click.Choice(list(FILL_RULES)), default=DEFAULT_FILL_RULE, show_default=True,
              help="What a trade at our quote's price does: "
                   + "; ".join(f"{name} = {text}" for name, text in FILL_RULES.items())
                   + ". Both arms get the same rule.")
@click.option("--config", "config_path", type=click.Path(exists=True, dir_okay=False, path_type=Path),
              help="Quoting config (default: control/quoting/default.yaml).")
@click.option("--report", "report_dir", type=click.Path(file_okay=False, path_type=Path),
              help="Write report.md, summary.json and PNG plots here (one subfolder per instrument).")
@click.option("--json", "as_json", is_flag=True, help="Print the summary as JSON.")
def backtest(*, data: tuple[Path, ...], model: str, no_model: bool, latency_ms: float, fill_rule: str,
             config_path: Path | None, report_dir: Path | None, as_json: bool) -> None:
    """Backtest the model-driven quoting policy against a static-spread baseline on recorded data.

    DATA files (Binance captures, LOBSTER zips) are grouped by instrument; files of one instrument
    form one stream in the order given (a capture that continues another, e.g. the 19th after the
    18th, must follow it). Results are also given per model split: per file, or per part of a file
    the model splits by time of day (LOBSTER AMZN: train / val / test hours).

    \b
    Examples:
      quoteguard backtest ../shared/data/binance/usdm/btcusdt_20240718.gz ../shared/data/binance/usdm/btcusdt_20240719.gz
      quoteguard backtest ../shared/data/lobster/LOBSTER_SampleFile_AMZN_2012-06-21_5.zip
      quoteguard backtest --latency-ms 20 --report reports/backtest DATA...
      quoteguard backtest --fill-rule queue DATA...      (the same with a risk-averse queue model)
      quoteguard backtest --no-model --json DATA...
    """
    from control.backtest.data import load_replay, model_segments, predict
    from control.backtest.report import summary, write_report
    from control.backtest.run import BacktestSettings, run_backtest
    from control.marketdata.errors import DecodeError, LoaderError
    from control.marketdata.instruments import UnknownInstrumentError
    from control.marketdata.source import sniff_instrument
    from control.quoting.config import QuotingConfigError, load_config

    try:
        cfg = load_config(config_path)
    except QuotingConfigError as e:
        raise click.UsageError(str(e)) from e

    streams: dict[str, list[Path]] = {}
    for p in data:
        try:
            inst = sniff_instrument(p)
        except (LoaderError, OSError, UnknownInstrumentError) as e:    # their messages name the file
            raise click.UsageError(str(e)) from e
        streams.setdefault(inst.symbol, []).append(p)

    out: list[dict] = []
    for symbol, paths in streams.items():
        if symbol not in cfg.instruments:
            raise click.UsageError(f"{symbol} ({', '.join(map(str, paths))}) has no instrument in the quoting config")
        try:
            rd = load_replay(paths)
        except (LoaderError, DecodeError) as e:
            raise click.ClickException(str(e)) from e
        preds = mp = None
        if not no_model:
            try:
                mp = predict(rd.records, model)
            except Exception as e:   # ModelArtifactError, ConfigError: name the model and the cause
                if type(e).__name__ not in ("ModelArtifactError", "ConfigError", "FileNotFoundError"):
                    raise
                click.echo(f"error: model {model!r}: {e}\n(use --no-model for the baselines alone)", err=True)
                raise SystemExit(2) from e
            preds = mp.preds
        segments = model_segments(rd, mp)
        settings = BacktestSettings(symbol, latency_ns=int(round(latency_ms * 1e6)),
                                    horizon_ns=mp.horizon_ns if mp else 2_000_000_000,
                                    model_hash=mp.model_hash if mp else "", fill_rule=fill_rule)
        res = run_backtest(rd.records, rd.trades, cfg, settings, preds=preds, segments=segments)
        summ = summary(res)
        out.append(summ)
        if report_dir is not None:
            d = report_dir / symbol
            write_report(res, d, rd.records, preds)
            (d / "summary.json").write_text(json.dumps(summ, indent=2))
        if not as_json:
            _print_table(summ)
            if report_dir is not None:
                click.echo(f"report: {report_dir / symbol / 'report.md'}")
    if as_json:
        click.echo(json.dumps(out if len(out) > 1 else out[0], indent=2))


def _print_table(s: dict) -> None:
    click.echo(f"\n{s['symbol']}: {s['records']} records, {s['trades']} trades, latency {s['latency_ms']:g} ms, "
               f"fills {s['fill_rule']}; "
               + ", ".join(f"{g['name']} ({g['split']})" for g in s["segments"]))
    head = f"{'arm':<8}{'fills':>7}{'lots':>8}{'captured':>10}{'AS 0.1s':>9}{'AS 1s':>9}{'AS 5s':>9}{'PnL':>12}{'quotes':>8}"
    click.echo(head)
    for name, a in s["arms"].items():
        adv = a["adverse_selection_bp"]
        click.echo(f"{name:<8}{a['fills']:>7}{a['volume_lots']:>8}{_n(a['spread_captured_bp']):>10}"
                   f"{_n(adv.get('0.1s')):>9}{_n(adv.get('1s')):>9}{_n(adv.get('5s')):>9}{_n(a['pnl_final']):>12}"
                   f"{a['quotes_sent']:>8}")
    for label, key in (("all", "comparison_all"), ("unseen", "comparison_unseen")):
        if s[key]:
            click.echo(f"{label}: {s[key]['verdict']}")


def _n(v: float | None) -> str:
    return "-" if v is None else f"{v:.3f}"
