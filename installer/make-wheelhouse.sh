#!/usr/bin/env bash
# Build a wheel folder for offline installs: install-terminal.sh / install-server.sh --wheel-dir.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$HERE/lib/common.sh"

usage() {
    cat <<'USAGE'
Usage: make-wheelhouse.sh [OPTIONS] DIR

Fills DIR (on a machine with PyPI access, same CPU architecture and Python 3.11 as the
counters) with the madoguchi wheel, a wheel of every dependency in requirements-runtime.lock
and a copy of that lock. Every file downloaded is checked against the lock's sha256 hashes
(pip --require-hashes); the wheels pip builds from a checked sdist (pyscard, pydes) get
their own hash added to DIR's copy of the lock, so the installers accept exactly these files.
Copy DIR to the counter, then: install-terminal.sh --wheel-dir DIR ...

Options:
  --source DIR   the madoguchi source tree (default: this repo)
  --python PATH  the Python 3.11 interpreter that runs pip (default: python3)
  -h, --help     this help
USAGE
}

SOURCE=$(cd "$HERE/.." && pwd)
OUT=""
while [ $# -gt 0 ]; do
    case $1 in
        --source) SOURCE=${2:?--source needs a directory}; shift ;;
        --python) PYTHON=${2:?--python needs a path}; shift ;;
        -h | --help) usage; exit 0 ;;
        -*) usage >&2; die "unknown option: $1" 2 ;;
        *) OUT=$1 ;;
    esac
    shift
done
[ -n "$OUT" ] || { usage >&2; die "no output folder given" 2; }
mkdir -p "$OUT"

build_wheels "$SOURCE" "$OUT"
log "building the dependencies' wheels (hash-checked) into $OUT"
"$PYTHON" -m pip wheel --quiet --disable-pip-version-check --require-hashes \
    -r "$OUT/$RUNTIME_LOCK_NAME" -w "$OUT" >&2 \
    || die "pip wheel --require-hashes -r $OUT/$RUNTIME_LOCK_NAME failed"
add_built_hashes "$OUT/$RUNTIME_LOCK_NAME" "$OUT"
log "done: $OUT ($(find "$OUT" -maxdepth 1 -name '*.whl' | wc -l) wheels)"
