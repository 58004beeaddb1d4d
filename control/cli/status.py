"""`quoteguard status`: backend, firmware identity, counters, latency percentiles, drift and health of
a running appliance (its status file or its metrics endpoint), or of a backend probed once."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from pathlib import Path

import click

from control.cli.options import EXIT_FAILURE, EXIT_USAGE, backend_config, backend_options, fail, kv_table
from control.cli.run import DEFAULT_STATUS


def _from_file(path: Path) -> dict:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        fail(
            f"no appliance status at {path}: start `quoteguard run ...`, or use --metrics-url or --probe",
            EXIT_FAILURE,
        )
    except ValueError as e:
        fail(f"{path} is not a status file: {e}", EXIT_USAGE)


def _from_metrics(url: str) -> dict:
    from prometheus_client.parser import text_string_to_metric_families

    try:
        text = urllib.request.urlopen(url, timeout=5).read().decode()
    except (urllib.error.URLError, OSError) as e:
        fail(f"cannot read metrics from {url}: {e}", EXIT_FAILURE)
    samples: dict[str, float] = {}
    backend = None
    for fam in text_string_to_metric_families(text):
        for s in fam.samples:
            if s.name.endswith("_bucket") or s.name.endswith("_created"):
                continue
            key = s.name + (
                "{" + ",".join(f"{k}={v}" for k, v in sorted(s.labels.items())) + "}" if s.labels else ""
            )
            samples[key] = s.value
            if s.name == "quoteguard_backend_active" and s.value == 1.0:
                backend = s.labels.get("backend")
    return {"source": url, "backend": backend, "metrics": samples}


def _from_redis(url: str) -> dict:
    import redis

    from control.scaleout.worker import group_status

    try:
        client = redis.Redis.from_url(url, socket_timeout=5)
        streams = group_status(client)
    except (redis.RedisError, ValueError) as e:
        fail(f"cannot read the scale-out state from {url}: {e}", EXIT_FAILURE)
    return {"source": url, "streams": streams}


def _probe(name: str, model: str, artifacts: Path | None, firmware: Path | None) -> dict:
    from control.backends.base import BackendError
    from control.backends.select import open_backend, probe
    from models.reference import ModelArtifactError

    cfg = backend_config(model, artifacts, firmware, failover=False)
    avail = probe(cfg)
    try:
        be = open_backend(name, cfg)
    except (BackendError, ModelArtifactError) as e:
        fail(str(e), EXIT_USAGE if getattr(e, "reason", "") in ("unavailable", "identity") else EXIT_FAILURE)
    try:
        h = be.health()
        return {
            "backend": be.name,
            "identity": be.identity().as_dict(),
            "health": {"ok": h.ok, "detail": h.detail, "counters": h.counters},
            "available": {k: v or "yes" for k, v in avail.items()},
            "updated_ns": time.time_ns(),
        }
    finally:
        be.close()


def _human(st: dict) -> str:
    rows: list[tuple[str, str]] = []
    if "streams" in st:
        rows.append(("source", st["source"]))
        for sym, e in st["streams"].items():
            rows.append(
                (
                    sym,
                    f"{e['records']} records, {e['predictions']} predictions, "
                    f"pending {e.get('pending', '-')}, lag {e.get('lag', '-')}",
                )
            )
            for name, c in e.get("consumers", {}).items():
                rows.append((f"  {name}", f"pending {c['pending']}, idle {c['idle_ms'] / 1e3:.1f} s"))
        return kv_table(rows)
    if "metrics" in st:
        rows.append(("source", st["source"]))
        rows.append(("backend", str(st["backend"])))
        rows += [(k, f"{v:g}") for k, v in st["metrics"].items() if k.startswith("quoteguard_")]
        return kv_table(rows)
    rows.append(("backend", st["backend"]))
    if "event_path" in st:
        rows.append(("event path", st["event_path"]))
    for k, v in st.get("identity", {}).items():
        rows.append((f"  {k}", str(v)))
    h = st["health"]
    rows.append(("health", ("ok" if h["ok"] else "UNHEALTHY") + f" ({h['detail']})"))
    for k, v in h.get("counters", {}).items():
        rows.append((f"  {k}", str(v)))
    for k, v in st.get("available", {}).items():
        rows.append((f"available {k}", v))
    if "updated_ns" in st:
        rows.append(
            (
                "updated",
                f"{(time.time_ns() - st['updated_ns']) / 1e9:.1f} s ago"
                + (f" (pid {st['pid']})" if "pid" in st else ""),
            )
        )
    for k, v in st.get("counters", {}).items():
        rows.append((k, str(v)))
    for f in st.get("failovers", []):
        rows.append(
            (
                "failover",
                f"{f['from_backend']} -> {f['to_backend']} ({f['reason']}) at seq {f['at_seq']}, "
                f"switch {f['switch_ns'] / 1e6:.2f} ms",
            )
        )
    for stage, v in st.get("latency_us", {}).items():
        rows.append(
            (
                f"latency {stage}",
                f"p50 {v['p50']:.1f} µs  p99 {v['p99']:.1f} µs  p99.9 {v['p99.9']:.1f} µs  (n={v['n']})",
            )
        )
    drift = st.get("drift_psi", {})
    if drift:
        worst = sorted(drift.items(), key=lambda kv: -kv[1])[:5]
        rows.append(("drift PSI (worst)", ", ".join(f"{k} {v:.3f}" for k, v in worst)))
    return kv_table(rows)


@click.command("status")
@click.option(
    "--status-file",
    type=click.Path(dir_okay=False, path_type=Path),
    default=DEFAULT_STATUS,
    show_default=True,
    help="Status file a running `quoteguard run` rewrites.",
)
@click.option(
    "--metrics-url",
    default=None,
    help="Read a running appliance's metrics endpoint instead, e.g. http://127.0.0.1:9108/metrics.",
)
@click.option(
    "--redis",
    "redis_url",
    default=None,
    help="Show the scale-out state instead: streams, consumer group, pending, lag (redis://...).",
)
@click.option(
    "--probe",
    "probe_backend",
    type=click.Choice(["auto", "fpga", "rtl", "cpu"]),
    default=None,
    help="Open this backend once: identity, health and counters, then close it.",
)
@backend_options
@click.option("--json", "as_json", is_flag=True, help="Machine-readable output.")
def status(
    *,
    status_file: Path,
    metrics_url: str | None,
    redis_url: str | None,
    probe_backend: str | None,
    model: str,
    artifacts: Path | None,
    firmware: Path | None,
    as_json: bool,
) -> None:
    """Show backend, firmware identity, counters, latency percentiles, drift and health.

    \b
    Examples:
      quoteguard status                                   # the running appliance's status file
      quoteguard status --metrics-url http://127.0.0.1:9108/metrics
      quoteguard status --probe auto --json               # one-shot: what backend would run here
      quoteguard status --redis redis://127.0.0.1:6379/0  # scale-out: streams, group, pending, lag
    \b
    Exit codes: 0 healthy, 1 unhealthy or nothing to read, 2 usage error or missing tool.
    """
    if metrics_url is not None:
        st = _from_metrics(metrics_url)
    elif redis_url is not None:
        st = _from_redis(redis_url)
    elif probe_backend is not None:
        st = _probe(probe_backend, model, artifacts, firmware)
    else:
        st = _from_file(status_file)
    click.echo(json.dumps(st, indent=1, default=str) if as_json else _human(st))
    healthy = st.get("health", {}).get("ok", True)
    if not healthy:
        raise SystemExit(EXIT_FAILURE)
