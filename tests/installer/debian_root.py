"""A fresh Debian root to run the installers in with chroot, as on a new machine.

The minimal root (``debootstrap --variant=minbase``) is made once per suite and kept outside
the repository (``MADOGUCHI_DEBOOTSTRAP_CACHE``, default /var/cache/madoguchi-debootstrap/
SUITE/root); each test copies it (``cp -a``, under a second). The downloaded .deb files are
kept beside it (bind-mounted as the root's /var/cache/apt/archives), so a later run unpacks
without downloading. The mirror is the one this machine's apt already uses.
"""

from __future__ import annotations

import fcntl
import os
import re
import shutil
import subprocess
import tempfile
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

SUITE = "bookworm"
CACHE = Path(os.environ.get("MADOGUCHI_DEBOOTSTRAP_CACHE", "/var/cache/madoguchi-debootstrap"))
CHROOT_ENV = ("PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
              "HOME=/root", "LANG=C.UTF-8", "TERM=dumb")
_COMPLETE = ".madoguchi-debootstrap-complete"


def debian_mirror(apt_dir: Path = Path("/etc/apt")) -> str | None:
    """The URI this machine's apt uses for Debian's main archive (not -security), if any."""
    files = [apt_dir / "sources.list", *sorted((apt_dir / "sources.list.d").glob("*"))]
    for path in files:
        if not path.is_file():
            continue
        text = path.read_text("utf-8", errors="replace")
        entries: list[tuple[str, list[str]]] = [
            (uri, [suite]) for uri, suite in re.findall(
                r"^\s*deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)", text, re.M)]
        for stanza in re.split(r"\n\s*\n", text):  # deb822 .sources: one stanza a block
            uri_line = re.search(r"^URIs:\s*(\S+)", stanza, re.M)
            suite_line = re.search(r"^Suites:(.*)$", stanza, re.M)
            if uri_line and suite_line:
                entries.append((uri_line[1], suite_line[1].split()))
        for uri, suites in entries:
            if SUITE in suites and uri.rstrip("/").endswith("/debian"):
                return uri.rstrip("/")
    return None


def cached_base(suite: str = SUITE) -> Path:
    """The minbase root of ``suite``, made by debootstrap on first use (under a lock)."""
    folder = CACHE / suite
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "archives" / "partial").mkdir(parents=True, exist_ok=True)
    base = folder / "root"
    with open(folder / ".lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if (base / _COMPLETE).is_file():
            return base
        debootstrap = shutil.which("debootstrap")
        assert debootstrap is not None, "debootstrap is missing: apt-get install debootstrap"
        fresh = folder / "root.new"
        if fresh.exists():
            _remove_tree(fresh)
        mirror = debian_mirror()
        args = [debootstrap, "--variant=minbase", suite, str(fresh), *([mirror] if mirror else [])]
        result = subprocess.run(args, capture_output=True, text=True, timeout=900, check=False)
        assert result.returncode == 0, (f"debootstrap failed ({result.returncode}):\n"
                                        f"{result.stdout[-3000:]}\n{result.stderr[-3000:]}")
        (fresh / _COMPLETE).write_text(f"{suite} {mirror or 'default mirror'}\n", "utf-8")
        if base.exists():
            _remove_tree(base)
        fresh.rename(base)
    return base


def _mounts_under(path: Path) -> list[str]:
    prefix = str(path.resolve())
    points = [line.split()[1] for line in Path("/proc/self/mounts").read_text().splitlines()]
    return [p for p in points if p == prefix or p.startswith(prefix + "/")]


def _remove_tree(path: Path) -> None:
    """rm -rf, but never through a mount (the host's /dev, /proc or the .deb cache)."""
    mounted = _mounts_under(path)
    assert not mounted, f"refusing to delete {path}: still mounted: {mounted}"
    shutil.rmtree(path)


def processes_in(root: Path) -> list[int]:
    """Processes whose root directory is ``root`` (a daemon left running by an install)."""
    target, found = str(root.resolve()), []
    for proc in Path("/proc").iterdir():
        if proc.name.isdigit():
            try:
                if os.readlink(proc / "root") == target:
                    found.append(int(proc.name))
            except OSError:
                continue
    return found


class DebianRoot:
    """A copy of the cached root with /proc, /sys, /dev and the .deb cache mounted."""

    def __init__(self, path: Path) -> None:
        self.path = path

    def run(self, *args: str, check: bool = True, env: Sequence[str] = (),
            timeout: float = 900) -> subprocess.CompletedProcess[str]:
        """``args`` inside the root, with a clean environment plus ``env`` (NAME=value)."""
        command = ["chroot", str(self.path), "/usr/bin/env", "-i", *CHROOT_ENV, *env, *args]
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout,
                                stdin=subprocess.DEVNULL, check=False)
        if check and result.returncode != 0:
            raise AssertionError(f"in {self.path}: {args} exited {result.returncode}\n"
                                 f"stdout:\n{result.stdout[-6000:]}\nstderr:\n"
                                 f"{result.stderr[-6000:]}")
        return result

    def copy_in(self, source: Path, inside: str) -> None:
        target = self.path / inside.lstrip("/")
        target.parent.mkdir(parents=True, exist_ok=True)
        if source.is_dir():
            shutil.copytree(source, target, symlinks=True)
        else:
            shutil.copy2(source, target)


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True, text=True)


def _unmount_all(root: Path) -> None:
    for point in sorted(_mounts_under(root), key=len, reverse=True):
        if subprocess.run(["umount", point], capture_output=True, check=False).returncode:
            time.sleep(0.5)  # a process that just left; else detach it
            subprocess.run(["umount", "--lazy", point], capture_output=True, check=False)


def _remove_stale_work(work: Path) -> None:
    """Roots left by a killed run (its pid is gone): unmounted first, then deleted."""
    for entry in work.iterdir():
        pid = entry.name.split("-", 1)[0]
        if pid.isdigit() and Path("/proc", pid).exists():
            continue
        _unmount_all(entry)
        _remove_tree(entry)


@contextmanager
def debian_root(suite: str = SUITE) -> Iterator[DebianRoot]:
    """A fresh root; unmounted and deleted afterwards, whatever happens. It lives beside the
    cache, not in pytest's temporary folders: pytest deletes old ones with a plain rmtree,
    which would descend into a bind-mounted /dev if a killed run left it mounted."""
    base = cached_base(suite)
    work = CACHE / "work"
    work.mkdir(exist_ok=True)
    _remove_stale_work(work)
    where = Path(tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=work))
    path = where / "root"
    try:
        subprocess.run(["cp", "-a", str(base), str(path)], check=True)
        shutil.copy2("/etc/resolv.conf", path / "etc/resolv.conf")  # apt-get inside needs DNS
        # A throwaway root: dpkg need not fsync every file it unpacks (minutes on a busy disk).
        (path / "etc/dpkg/dpkg.cfg.d/madoguchi-test-unsafe-io").write_text("force-unsafe-io\n")
        _mount("-t", "proc", "proc", str(path / "proc"))
        _mount("-t", "sysfs", "sysfs", str(path / "sys"))
        _mount("--bind", "/dev", str(path / "dev"))
        _mount("--bind", "/dev/pts", str(path / "dev/pts"))
        _mount("--bind", str(CACHE / suite / "archives"), str(path / "var/cache/apt/archives"))
        yield DebianRoot(path)
    finally:
        _unmount_all(where)
        if not _mounts_under(where):
            subprocess.run(["rm", "-rf", "--one-file-system", str(where)], check=False)
