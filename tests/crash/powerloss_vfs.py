"""A power-loss simulating SQLite VFS on APSW, in the spirit of SQLite's own crash tests.

Every file lives in memory with two layers: the *durable* bytes (what survived the last
``xSync`` of that file) and the *current* bytes (what reads see: the durable bytes plus the
writes and truncations made since, i.e. the OS page cache). A power cut happens at a chosen
``xSync`` (that sync never completes), at a chosen ``xWrite`` (that write reaches the page
cache, then the power goes) or between operations (``Disk.cut_now``). At the cut, for every
file, the pending (unsynced) sectors are either all dropped (``tear=False``) or torn
(``tear=True``): each pending sector, of ``sector_size`` bytes, is independently

* kept (the new bytes reached the platter),
* dropped (the sector still holds its durable bytes),
* garbage (random bytes over the WHOLE sector, including bytes that were already durable and
  that the write did not touch: the disk is never power-safe), or
* partial (a random prefix of the sector has the new bytes, the rest its durable bytes);

a pending change of the file's size is, when tearing, randomly kept or dropped (a kept size
with dropped data reads as zeros, as on a file system that wrote the inode but not the data).
Shrinking a file is metadata only: if the new size is dropped, the old bytes are all there.
All random choices come from the disk's seeded ``random.Random``.

After the cut the disk is *off*: every operation of every file handle and of the VFS raises
``apsw.IOError`` (the dead machine writes nothing more) until ``Disk.power_on``; file handles
opened before the cut stay dead forever (they belong to the previous boot). The surviving
durable layer is then opened by fresh connections through the same VFS, as after a reboot.

Device characteristics: the hardware tears whole sectors, but, like SQLite's unix VFS, the VFS
*reports* ``SQLITE_IOCAP_POWERSAFE_OVERWRITE`` unless the main database was opened with the URI
parameter ``psow=0`` (the unix VFS's compile-time default is psow on). So ``psow=0`` is what
makes SQLite pad WAL commits to a sector boundary here, exactly as on the real file system;
``psow=1`` is a lie to SQLite that the torn-sector cuts expose.

Directories (one flat namespace per disk; names are full paths) are modeled like the files:
a *current* and a *durable* mapping of names to files. Creating or deleting a name changes the
current mapping only; the durable mapping catches up when the directory is synced:

* by ``xDelete(name, syncdir=True)``,
* by the first ``xSync`` of a WAL or rollback-journal file that this open created (the unix
  VFS fsyncs the directory there: its ``UNIXFILE_DIRSYNC``),
* by ``Disk.sync_directory`` (the application's own ``fsync`` of the directory).

At a cut, every name whose current and durable entries differ keeps, when tearing, either one
at random (a directory block may have been written back on its own); otherwise it reverts to
the durable entry. A file whose durable bytes are empty reads as missing to ``xAccess``, as with
the unix VFS (``SQLITE_ACCESS_EXISTS`` is false for an empty file).

There is no shared memory (APSW cannot host ``xShm*`` methods in Python), so WAL needs
``PRAGMA locking_mode=EXCLUSIVE``: the WAL index then lives in heap memory and is rebuilt from
the WAL file at every open, which is what happens after a real power cut anyway (the first
connection to a ``-shm`` file after a reboot rebuilds it from the WAL). Locks are no-ops: one
connection at a time uses a disk.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from typing import Final

import apsw

__all__ = ["FATES", "CutStats", "Disk", "PowerCut", "PowerLossFile", "PowerLossVFS"]

FATES: Final = ("keep", "drop", "garbage", "partial")
"""What may become of a pending sector at a torn cut (``Disk(fates=...)`` narrows it)."""
_WAL_OR_JOURNAL: Final = (
    apsw.SQLITE_OPEN_WAL | apsw.SQLITE_OPEN_MAIN_JOURNAL | apsw.SQLITE_OPEN_SUPER_JOURNAL
)


class PowerCut(apsw.IOError):
    """Raised by the VFS operation at which the power went (and by every later one)."""


@dataclass(eq=False)
class _Inode:
    """One file's bytes: ``current`` (page cache) over ``durable`` (the platter)."""

    sector_size: int
    current: bytearray = field(default_factory=bytearray)
    durable: bytes = b""
    dirty: set[int] = field(default_factory=set)  # sectors changed since the last sync

    def _mark(self, start: int, end: int) -> None:
        if end > start:
            size = self.sector_size
            self.dirty.update(range(start // size, (end - 1) // size + 1))

    def write(self, data: bytes, offset: int) -> None:
        old_len = len(self.current)
        end = offset + len(data)
        if end > old_len:
            self.current.extend(bytes(end - old_len))
        self.current[offset:end] = data
        self._mark(min(offset, old_len), end)

    def truncate(self, size: int) -> None:
        old_len = len(self.current)
        if size < old_len:  # metadata only: the cut keeps or drops the new size, no sector
            del self.current[size:]
        elif size > old_len:
            self.current.extend(bytes(size - old_len))
            self._mark(old_len, size)

    def sync(self) -> None:
        self.durable = bytes(self.current)
        self.dirty.clear()

    def pending(self) -> bool:
        return bool(self.dirty) or len(self.current) != len(self.durable)

    def cut(self, rng: random.Random, tear: bool, fates: tuple[str, ...]) -> None:
        """What the platter holds after the power went: see the module docstring."""
        if tear and self.pending():
            size = self.sector_size
            length = rng.choice((len(self.durable), len(self.current)))
            buf = bytearray(self.durable[:length])
            buf.extend(bytes(length - len(buf)))
            for sector in sorted(self.dirty):
                start = sector * size
                end = min(start + size, length)
                if start >= end:
                    continue
                new = bytes(self.current[start:end])
                new += bytes(end - start - len(new))  # beyond the current end: zeros
                fate = rng.choice(fates)
                if fate == "keep":
                    buf[start:end] = new
                elif fate == "garbage":
                    buf[start:end] = rng.randbytes(end - start)
                elif fate == "partial":
                    keep = rng.randrange(1, end - start) if end - start > 1 else 0
                    buf[start : start + keep] = new[:keep]
            self.durable = bytes(buf)
        self.current = bytearray(self.durable)
        self.dirty.clear()


@dataclass
class CutStats:
    at_sync: int = 0
    at_write: int = 0
    idle: int = 0

    @property
    def total(self) -> int:
        return self.at_sync + self.at_write + self.idle


class Disk:
    """The simulated machine: files, power, and the planned power cut.

    ``arm(at_sync=n)`` cuts the power at the n-th ``xSync`` from now (that sync does not
    complete); ``arm(at_write=n)`` at the n-th ``xWrite`` from now (after it reached the page
    cache). ``tear`` chooses between dropping and tearing the pending sectors at the cut.
    """

    def __init__(
        self,
        seed: int,
        *,
        sector_size: int = 512,
        tear: bool = True,
        fates: tuple[str, ...] = FATES,
    ) -> None:
        if not fates or not set(fates) <= set(FATES):
            raise ValueError(f"fates must be some of {FATES}, not {fates}")
        self.rng = random.Random(seed)
        self.sector_size = sector_size
        self.tear = tear
        self.fates = fates
        self.names: dict[str, _Inode] = {}
        self.durable_names: dict[str, _Inode] = {}
        self.boot = 0
        self.off = False
        self.psow = True
        self.syncs = 0
        self.writes = 0
        self.cut_at_sync: int | None = None
        self.cut_at_write: int | None = None
        self.cuts = CutStats()

    # -- power -------------------------------------------------------------------------------

    def arm(self, *, at_sync: int | None = None, at_write: int | None = None) -> None:
        self.cut_at_sync = None if at_sync is None else self.syncs + at_sync
        self.cut_at_write = None if at_write is None else self.writes + at_write

    def disarm(self) -> None:
        self.cut_at_sync = self.cut_at_write = None

    @property
    def armed(self) -> bool:
        return self.cut_at_sync is not None or self.cut_at_write is not None

    def cut_now(self) -> None:
        """Cut the power between operations (nothing of the planned cut happened yet)."""
        self.cuts.idle += 1
        self._cut()

    def _cut(self) -> None:
        self.disarm()
        tear = self.tear
        names: dict[str, _Inode] = {}
        for name in sorted(self.names.keys() | self.durable_names.keys()):
            now, durable = self.names.get(name), self.durable_names.get(name)
            chosen = durable if now is durable or not tear else self.rng.choice((now, durable))
            if chosen is not None:
                names[name] = chosen
        inodes = {id(i): i for i in (*self.names.values(), *self.durable_names.values())}
        for inode in inodes.values():
            inode.cut(self.rng, tear, self.fates)
        self.names = names
        self.durable_names = dict(names)
        self.off = True
        self.boot += 1

    def power_on(self) -> None:
        self.off = False

    def check(self, boot: int | None = None) -> None:
        if self.off or (boot is not None and boot != self.boot):
            raise PowerCut("the power is off (or this handle is from before the power cut)")

    # -- directory ---------------------------------------------------------------------------

    def sync_directory(self) -> None:
        """The application's fsync of the directory: names become durable."""
        self.check()
        self.durable_names = dict(self.names)

    def settle(self) -> None:
        """Everything written so far reaches the platter (an orderly shutdown's write-back)."""
        self.check()
        for inode in self.names.values():
            inode.sync()
        self.durable_names = dict(self.names)

    def exists(self, name: str) -> bool:
        inode = self.names.get(name)
        return inode is not None and len(inode.current) > 0

    def durable_bytes(self, name: str) -> bytes | None:
        inode = self.durable_names.get(name)
        return None if inode is None else inode.durable

    # -- operations counted for the planned cut ----------------------------------------------

    def count_write(self) -> bool:
        """Count a write; True if the power goes at this one."""
        self.writes += 1
        return self.writes == self.cut_at_write

    def count_sync(self) -> bool:
        self.syncs += 1
        return self.syncs == self.cut_at_sync

    def cut_at_write_now(self) -> None:
        self.cuts.at_write += 1
        self._cut()

    def cut_at_sync_now(self) -> None:
        self.cuts.at_sync += 1
        self._cut()


def _name_of(name: str | apsw.URIFilename | None) -> str | None:
    if name is None or isinstance(name, str):
        return name
    return name.filename()


class PowerLossFile(apsw.VFSFile):
    """A file handle of one boot of a ``Disk`` (no base VFS: everything is in memory)."""

    def __init__(self, disk: Disk, inode: _Inode, name: str | None, flags: int) -> None:
        # apsw.VFSFile.__init__ is deliberately not called: it would open a real file.
        self.disk = disk
        self.inode = inode
        self.name = name
        self.flags = flags
        self.boot = disk.boot
        self.lock = apsw.SQLITE_LOCK_NONE
        self.dirsync = False  # set by the VFS when this open created a WAL/journal file

    def excepthook(
        self, etype: object = None, evalue: object = None, etraceback: object = None
    ) -> bool:
        return True  # errors after a power cut are expected; SQLite already got the code

    def xRead(self, amount: int, offset: int) -> bytes:
        self.disk.check(self.boot)
        return bytes(self.inode.current[offset : offset + amount])  # short read: zero-filled

    def xWrite(self, data: bytes, offset: int) -> None:
        self.disk.check(self.boot)
        self.inode.write(bytes(data), offset)
        if self.disk.count_write():
            self.disk.cut_at_write_now()
            raise PowerCut(f"power cut at a write of {len(data)} bytes at {offset}")

    def xTruncate(self, newsize: int) -> None:
        self.disk.check(self.boot)
        self.inode.truncate(newsize)

    def xSync(self, flags: int) -> None:
        self.disk.check(self.boot)
        if self.disk.count_sync():
            self.disk.cut_at_sync_now()
            raise PowerCut("power cut at a sync")
        self.inode.sync()
        if self.dirsync:
            self.dirsync = False
            self.disk.sync_directory()

    def xFileSize(self) -> int:
        self.disk.check(self.boot)
        return len(self.inode.current)

    def xLock(self, level: int) -> None:
        self.disk.check(self.boot)
        self.lock = level

    def xUnlock(self, level: int) -> None:
        self.lock = level

    def xCheckReservedLock(self) -> bool:
        return False

    def xFileControl(self, op: int, ptr: int) -> bool:
        return False

    def xSectorSize(self) -> int:
        return self.disk.sector_size

    def xDeviceCharacteristics(self) -> int:
        return apsw.SQLITE_IOCAP_POWERSAFE_OVERWRITE if self.disk.psow else 0

    def xClose(self) -> None:
        if (
            self.flags & apsw.SQLITE_OPEN_DELETEONCLOSE
            and self.name is not None
            and not self.disk.off
            and self.boot == self.disk.boot
            and self.disk.names.get(self.name) is self.inode
        ):
            del self.disk.names[self.name]


class PowerLossVFS(apsw.VFS):
    """Registered once under ``name``; ``disk`` is the machine it currently serves."""

    def __init__(self, name: str, disk: Disk) -> None:
        self.vfs_name = name
        self.disk = disk
        super().__init__(name, base="")

    def excepthook(
        self, etype: object = None, evalue: object = None, etraceback: object = None
    ) -> bool:
        return True

    def xOpen(self, name: str | apsw.URIFilename | None, flags: list[int]) -> PowerLossFile:
        disk = self.disk
        disk.check()
        inflags = flags[0]
        path = _name_of(name)
        if path is not None and inflags & apsw.SQLITE_OPEN_MAIN_DB:
            assert isinstance(name, apsw.URIFilename)
            disk.psow = name.uri_boolean("psow", True)
        created = False
        if path is None:
            inode = _Inode(disk.sector_size)
        elif path in disk.names:
            if inflags & apsw.SQLITE_OPEN_EXCLUSIVE and inflags & apsw.SQLITE_OPEN_CREATE:
                raise apsw.CantOpenError(f"{path} exists")
            inode = disk.names[path]
        elif inflags & apsw.SQLITE_OPEN_CREATE:
            inode = disk.names[path] = _Inode(disk.sector_size)
            created = True
        else:
            raise apsw.CantOpenError(f"{path} does not exist")
        flags[1] = inflags & (apsw.SQLITE_OPEN_READWRITE | apsw.SQLITE_OPEN_READONLY)
        handle = PowerLossFile(disk, inode, path, inflags)
        handle.dirsync = created and bool(inflags & _WAL_OR_JOURNAL)
        return handle

    def xDelete(self, filename: str, syncdir: bool) -> None:
        disk = self.disk
        disk.check()
        if filename not in disk.names:
            raise apsw.exception_for(apsw.SQLITE_IOERR_DELETE_NOENT)
        del disk.names[filename]
        if syncdir:
            disk.sync_directory()

    def xAccess(self, pathname: str, flags: int) -> bool:
        self.disk.check()
        return self.disk.exists(pathname)

    def xFullPathname(self, name: str) -> str:
        return name
