"""Checking many entry signatures: Ed25519 verification dominates ``custody verify``, so a long
ledger is checked in forked worker processes while the caller recomputes the hash chain."""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Sequence
from concurrent.futures import Future, ProcessPoolExecutor

from evidencekit.case import signing
from evidencekit.case.ledger import LedgerEntry

PARALLEL_FROM = 1500  # below this many entries one process is faster than forking
Item = tuple[int, str, str, str]  # seq, public key (base64), signature (base64), entry hash (hex)


class Pending:
    """The set of sequence numbers whose signature verified, available through :meth:`result`."""

    def __init__(self, futures: list[Future[set[int]]] | None = None, done: set[int] | None = None,
                 pool: ProcessPoolExecutor | None = None):
        self._futures = futures or []
        self._done = done
        self._pool = pool

    def result(self) -> set[int]:
        if self._done is None:
            self._done = set().union(*(f.result() for f in self._futures))
            if self._pool is not None:
                self._pool.shutdown()
        return self._done


def start(rows: Sequence[LedgerEntry], keys: dict[str, str]) -> Pending:
    """Begin verifying each entry's signature by its examiner's key (a missing key never verifies)."""
    items = [(e.seq, keys.get(e.examiner, ""), e.signature, e.entry_hash) for e in rows]
    workers = min(os.cpu_count() or 1, 4)
    if len(items) < PARALLEL_FROM or workers < 2 or "fork" not in multiprocessing.get_all_start_methods():
        return Pending(done=check(items))
    pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
    size = -(-len(items) // workers)
    futures = [pool.submit(check, items[i:i + size]) for i in range(0, len(items), size)]
    return Pending(futures, pool=pool)


def check(items: Sequence[Item]) -> set[int]:
    """Sequence numbers of the items whose signature is valid."""
    loaded: dict[str, object] = {}
    valid = set()
    for seq, public, signature, entry_hash in items:
        if not public:
            continue
        key = loaded.get(public)
        if key is None:
            try:
                key = loaded[public] = signing.load_public(public)
            except ValueError:
                continue
        try:
            digest = bytes.fromhex(entry_hash)
        except ValueError:
            continue
        if signing.signature_ok(key, signature, digest):  # type: ignore[arg-type]
            valid.add(seq)
    return valid
