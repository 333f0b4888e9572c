"""Small durable-file helpers: exclusive atomic creation and directory fsync."""

from __future__ import annotations

import contextlib
import os
import tempfile
from pathlib import Path


def create_exclusive(path: Path, data: bytes) -> bool:
    """Write ``data`` to a new file ``path`` (0600) atomically; False if it already exists."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        os.fchmod(fd, 0o600)
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
        os.close(fd)
        fd = -1
        try:
            os.link(tmp_name, path)
        except FileExistsError:
            return False
        fsync_dir(path.parent)
        return True
    finally:
        if fd >= 0:
            os.close(fd)
        os.unlink(tmp_name)


def fsync_dir(directory: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(directory, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
