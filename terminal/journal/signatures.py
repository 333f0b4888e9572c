"""Ed25519 signature checks for the verifier, on both cores for large journals.

The verifier's main process parses, links and hashes entries; it hands ``(seq, prev, hash,
sig)`` to a SignatureChecker. Below ``threshold`` entries the checker verifies in-process;
past it, chunks go to a small process pool. Results are consumed in submission order, so the
first bad signature found is always the lowest bad seq.
"""

from __future__ import annotations

import base64
import binascii
import multiprocessing
import os
import threading
from collections import deque
from concurrent.futures import Future, ProcessPoolExecutor
from types import TracebackType
from typing import Final

from cryptography.exceptions import InvalidSignature

from terminal.journal.keys import load_public_key

Item = tuple[int, str, str, str]
"""(seq, prev, hash hex, signature base64)."""

CHUNK: Final = 2000
MAX_IN_FLIGHT: Final = 6


def verify_chunk(public_key_b64: str, chunk: list[Item]) -> tuple[int, str] | None:
    """(seq, prev) of the first item whose signature fails, or None."""
    verify = load_public_key(public_key_b64).verify
    b64decode, b64encode, fromhex = base64.b64decode, base64.b64encode, bytes.fromhex
    for seq, prev, digest, sig in chunk:
        try:
            raw = b64decode(sig, validate=True)
            # base64 leaves unused bits in the last character: the same 64 bytes can be
            # written several ways. Only the canonical spelling is the signed entry's text.
            if len(raw) != 64 or b64encode(raw).decode("ascii") != sig:
                return seq, prev
            verify(raw, fromhex(digest))
        except (InvalidSignature, binascii.Error, ValueError):
            return seq, prev
    return None


def _context() -> multiprocessing.context.BaseContext:
    # fork is cheap, but forking a process that runs threads (the UI) is unsafe.
    method = "fork" if threading.active_count() == 1 else "forkserver"
    return multiprocessing.get_context(method)


class SignatureChecker:
    """Collects signatures to check; ``first_bad()`` gives the lowest failing (seq, prev)."""

    def __init__(
        self, public_key_b64: str, threshold: int = 5000, workers: int = 2, chunk: int = CHUNK
    ) -> None:
        self._key = public_key_b64
        self._chunk = chunk
        self._threshold = threshold
        self._workers = max(1, min(workers, os.cpu_count() or 1))
        self._buffer: list[Item] = []
        self._pool: ProcessPoolExecutor | None = None
        self._pending: deque[Future[tuple[int, str] | None]] = deque()
        self._bad: tuple[int, str] | None = None

    @property
    def failed(self) -> bool:
        """True once a bad signature was found (no later entry can change the verdict)."""
        return self._bad is not None

    def add(self, seq: int, prev: str, digest: str, sig: str) -> None:
        self._buffer.append((seq, prev, digest, sig))
        if self._pool is None and len(self._buffer) >= self._threshold and self._workers > 1:
            self._pool = ProcessPoolExecutor(self._workers, mp_context=_context())
        if self._pool is not None and len(self._buffer) >= self._chunk:
            self._submit()

    def _submit(self) -> None:
        assert self._pool is not None
        chunk, self._buffer = self._buffer, []
        self._pending.append(self._pool.submit(verify_chunk, self._key, chunk))
        while self._pending and (len(self._pending) > MAX_IN_FLIGHT or self._pending[0].done()):
            self._collect_one()

    def _collect_one(self) -> None:
        result = self._pending.popleft().result()
        if result is not None and self._bad is None:
            self._bad = result
            for future in self._pending:
                future.cancel()
            self._pending.clear()

    def first_bad(self) -> tuple[int, str] | None:
        """Finish all checks; the lowest bad (seq, prev), or None if all verify."""
        while self._pending and self._bad is None:
            self._collect_one()
        if self._bad is None and self._buffer:
            self._bad = verify_chunk(self._key, self._buffer)
            self._buffer = []
        return self._bad

    def close(self) -> None:
        if self._pool is not None:
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def __enter__(self) -> SignatureChecker:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
