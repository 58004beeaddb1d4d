"""Publish normalized book records of one symbol to its market-data stream (pipelined XADD). RESET
records are also indexed in the resets stream under the same id, so a consumer can rebuild feature
state from the last RESET before the point where it resumes."""

from __future__ import annotations

import logging

import numpy as np
import redis

from control.scaleout.keys import DEFAULT_KEYS, Keys, encode_record
from models.record import FLAG_RESET

log = logging.getLogger(__name__)


class Publisher:
    def __init__(self, client: redis.Redis, keys: Keys = DEFAULT_KEYS, batch: int = 512) -> None:
        self.client, self.keys, self.batch = client, keys, batch

    def publish(self, symbol: str, records: np.ndarray) -> list[bytes]:
        """XADD every record in order; returns the entry ids."""
        md, resets = self.keys.market_data(symbol), self.keys.resets(symbol)
        ids: list[bytes] = []
        for start in range(0, len(records), self.batch):
            chunk = records[start : start + self.batch]
            pipe = self.client.pipeline(transaction=False)
            for rec in chunk:
                pipe.xadd(md, encode_record(rec))
            chunk_ids = pipe.execute()
            reset_at = np.flatnonzero(chunk["flags"] & FLAG_RESET)
            if len(reset_at):
                pipe = self.client.pipeline(transaction=False)
                for i in reset_at:
                    pipe.xadd(resets, {b"seq": str(int(chunk[i]["seq"]))}, id=chunk_ids[i])
                pipe.execute()
            ids += chunk_ids
        log.debug("published %d records to %s", len(records), md)
        return ids
