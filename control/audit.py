"""Append-only audit log in Parquet: events (book records), predictions, quotes, fills and control
events (e.g. backend failovers), each row stamped with the model hash and the firmware hash.

Layout: one series of files per kind, `<dir>/<kind>-<session>-<index>.parquet`. A file is written as
`<name>.inprogress`, renamed when it reaches `rows_per_file` or the writer closes, and then made
read-only: a closed file is never touched again, and readers only ever see closed files. A new session
starts new files beside the old ones.

`read_records(dir)` turns the events back into a `models.record` array, so audit logs are training
data (`quoteguard model train --audit DIR`).
"""

from __future__ import annotations

import logging
import os
import time
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from control.prediction import Prediction
from models.record import record_dtype

log = logging.getLogger(__name__)

KINDS = ("events", "predictions", "quotes", "fills", "control")
SUFFIX = ".parquet"
INPROGRESS = ".inprogress"


class AuditError(Exception):
    """The audit directory cannot be written or read as an audit log."""


@dataclass(frozen=True)
class AuditConfig:
    directory: Path
    rows_per_file: int = 200_000  # roll to a new immutable file after this many rows
    flush_rows: int = 4096  # rows buffered per kind before a row group is written


def _record_schema(levels: int) -> pa.Schema:
    lvl = pa.list_(pa.int64(), levels)
    return pa.schema(
        [
            ("stream", pa.string()),
            ("seq", pa.uint64()),
            ("ts_ns", pa.int64()),
            ("recv_ns", pa.int64()),
            ("update_id", pa.int64()),
            ("bid_px", lvl),
            ("bid_sz", lvl),
            ("ask_px", lvl),
            ("ask_sz", lvl),
            ("trade_buy", pa.int64()),
            ("trade_sell", pa.int64()),
            ("flags", pa.uint32()),
            ("model_hash", pa.string()),
            ("firmware_hash", pa.string()),
        ]
    )


def _fixed_list(a: np.ndarray) -> pa.FixedSizeListArray:
    n, k = a.shape
    return pa.FixedSizeListArray.from_arrays(pa.array(np.ascontiguousarray(a, dtype=np.int64).reshape(-1)), k)


class _Series:
    """The rolling files of one kind."""

    def __init__(self, directory: Path, kind: str, session: str, rows_per_file: int) -> None:
        self.directory, self.kind, self.session, self.rows_per_file = directory, kind, session, rows_per_file
        self.index = 0
        self.writer: pq.ParquetWriter | None = None
        self.path: Path | None = None
        self.rows_in_file = 0
        self.closed_files: list[Path] = []

    def write(self, table: pa.Table) -> None:
        start = 0
        while start < table.num_rows:
            if self.writer is None:
                self._open(table.schema)
            take = min(table.num_rows - start, self.rows_per_file - self.rows_in_file)
            self.writer.write_table(table.slice(start, take))
            self.rows_in_file += take
            start += take
            if self.rows_in_file >= self.rows_per_file:
                self.close()

    def _open(self, schema: pa.Schema) -> None:
        while True:  # never overwrite: a second writer in the same second continues the numbering
            self.path = self.directory / f"{self.kind}-{self.session}-{self.index:06d}{SUFFIX}"
            self.index += 1
            tmp = self.path.with_name(self.path.name + INPROGRESS)
            if not (self.path.exists() or tmp.exists()):
                break
        self.writer = pq.ParquetWriter(tmp, schema, compression="zstd")
        self.rows_in_file = 0

    def close(self) -> None:
        if self.writer is None:
            return
        self.writer.close()
        tmp = self.path.with_name(self.path.name + INPROGRESS)
        os.replace(tmp, self.path)
        os.chmod(self.path, 0o444)
        self.closed_files.append(self.path)
        log.debug("audit: closed %s (%d rows)", self.path, self.rows_in_file)
        self.writer = None


class AuditWriter:
    """Buffers rows per kind and writes them as Parquet row groups. Not thread-safe: one per appliance."""

    def __init__(self, cfg: AuditConfig, model_hash: str, firmware_hash: str) -> None:
        self.cfg = cfg
        self.model_hash, self.firmware_hash = model_hash, firmware_hash
        try:
            cfg.directory.mkdir(parents=True, exist_ok=True)
        except OSError as e:
            raise AuditError(f"cannot create audit directory {cfg.directory}: {e}") from e
        if not os.access(cfg.directory, os.W_OK):
            raise AuditError(f"audit directory {cfg.directory} is not writable")
        session = time.strftime("%Y%m%dT%H%M%S", time.gmtime()) + f"-{os.getpid()}"
        self.series = {k: _Series(cfg.directory, k, session, cfg.rows_per_file) for k in KINDS}
        self._events: list[tuple[str, np.ndarray]] = []
        self._event_rows = 0
        self._rows: dict[str, list[dict]] = {k: [] for k in KINDS if k != "events"}

    # -- writers -----------------------------------------------------------------------------------
    def events(self, records: np.ndarray, stream: str) -> None:
        """Buffer book records (numpy, cheap per event); they become Parquet rows at flush."""
        if len(records) == 0:
            return
        self._events.append((stream, records.copy()))
        self._event_rows += len(records)
        if self._event_rows >= self.cfg.flush_rows:
            self._flush_events()

    def predictions(self, preds: Sequence[Prediction], stream: str) -> None:
        self._add(
            "predictions",
            (
                {
                    "stream": stream,
                    "seq": p.seq,
                    "ts_ns": p.ts_ns,
                    "logits": list(p.logits),
                    "p_up": p.p_up,
                    "p_down": p.p_down,
                    "p_withdraw": p.p_withdraw,
                    "backend": p.backend,
                    "model_hash": p.model_hash,
                }
                for p in preds
            ),
        )

    def quotes(self, rows: Iterable[Mapping[str, object]]) -> None:
        self._add("quotes", (dict(r) for r in rows))

    def fills(self, rows: Iterable[Mapping[str, object]]) -> None:
        self._add("fills", (dict(r) for r in rows))

    def control(self, event: str, **fields: object) -> None:
        """A control-plane event (failover, firmware load, drift alert); flushed at once."""
        self._add(
            "control", [{"event": event, "wall_ns": time.time_ns(), **{k: str(v) for k, v in fields.items()}}]
        )
        self._flush("control")

    def flush(self) -> None:
        self._flush_events()
        for kind in self._rows:
            self._flush(kind)

    def close(self) -> None:
        self.flush()
        for s in self.series.values():
            s.close()

    def closed_files(self, kind: str) -> list[Path]:
        return list(self.series[kind].closed_files)

    # -- internals ---------------------------------------------------------------------------------
    def _add(self, kind: str, rows: Iterable[dict]) -> None:
        buf = self._rows[kind]
        for r in rows:
            r.setdefault("model_hash", self.model_hash)
            r["firmware_hash"] = self.firmware_hash
            buf.append(r)
        if len(buf) >= self.cfg.flush_rows:
            self._flush(kind)

    def _flush(self, kind: str) -> None:
        buf = self._rows[kind]
        if not buf:
            return
        series = self.series[kind]
        table = pa.Table.from_pylist(buf)
        if series.writer is not None and table.schema != series.writer.schema:
            series.close()  # a new column set starts a new file; each file keeps one schema
        series.write(table)
        buf.clear()

    def _flush_events(self) -> None:
        if not self._events:
            return
        batches = []
        i = 0
        while i < len(self._events):  # one Arrow batch per run of same-stream, same-dtype arrays
            stream, first = self._events[i]
            j = i + 1
            while (
                j < len(self._events)
                and self._events[j][0] == stream
                and self._events[j][1].dtype == first.dtype
            ):
                j += 1
            batches.append(self._event_batch(stream, np.concatenate([a for _, a in self._events[i:j]])))
            i = j
        self._events.clear()
        self._event_rows = 0
        series = self.series["events"]
        for batch in batches:
            table = pa.Table.from_batches([batch])
            if series.writer is not None and table.schema != series.writer.schema:
                series.close()
            series.write(table)

    def _event_batch(self, stream: str, records: np.ndarray) -> pa.RecordBatch:
        levels = records.dtype["bid_px"].shape[0]
        n = len(records)
        cols = [pa.array([stream] * n, pa.string())]
        for name in ("seq", "ts_ns", "recv_ns", "update_id"):
            cols.append(pa.array(records[name]))
        for name in ("bid_px", "bid_sz", "ask_px", "ask_sz"):
            cols.append(_fixed_list(records[name]))
        for name in ("trade_buy", "trade_sell", "flags"):
            cols.append(pa.array(records[name]))
        cols += [
            pa.array([self.model_hash] * n, pa.string()),
            pa.array([self.firmware_hash] * n, pa.string()),
        ]
        return pa.RecordBatch.from_arrays(cols, schema=_record_schema(levels))


def audit_files(directory: Path, kind: str) -> list[Path]:
    """Closed files of one kind, oldest first (session stamps sort by time)."""
    if not directory.is_dir():
        raise AuditError(f"audit directory {directory} does not exist")
    return sorted(directory.glob(f"{kind}-*{SUFFIX}"))


def read_table(directory: Path, kind: str) -> pa.Table:
    files = audit_files(Path(directory), kind)
    if not files:
        raise AuditError(f"no closed {kind} files in {directory}")
    return pa.concat_tables([pq.read_table(f) for f in files], promote_options="default")


def streams(directory: Path | str) -> list[str]:
    """The streams (symbols) present in an audit log's events, in order of first appearance. Features are
    per stream: train on `read_records(dir, stream=s)` for each, never on the interleaved whole."""
    col = read_table(Path(directory), "events").column("stream").to_pylist()
    return list(dict.fromkeys(col))


def read_records(directory: Path | str, stream: str | None = None) -> np.ndarray:
    """The book records of an audit log as a `models.record.record_dtype` array, in logged order;
    `stream` keeps one stream (symbol) only. This is the hook for `quoteguard model train --audit DIR`."""
    table = read_table(Path(directory), "events")
    if stream is not None:
        mask = np.asarray(table.column("stream").to_numpy(zero_copy_only=False) == stream)
        table = table.filter(pa.array(mask))
    levels = table.schema.field("bid_px").type.list_size
    out = np.zeros(table.num_rows, dtype=record_dtype(levels))
    for name in out.dtype.names:
        col = table.column(name).combine_chunks()
        if out.dtype[name].shape:
            out[name] = col.flatten().to_numpy().reshape(-1, levels)
        else:
            out[name] = col.to_numpy()
    return out
