# shellcheck shell=bash disable=SC2034
# (SC2034: the settings below are used by the scripts that source this file)
# Shared by install-terminal.sh and install-server.sh (sourced, never run).
# Conventions: ROOT is "" for the live system or the target directory (--root); every path
# written goes through "$ROOT". HOST_MODE=1 only when ROOT is empty.

APP_USER=madoguchi
APP_GROUP=madoguchi
OPT=/opt/madoguchi
ETC=/etc/madoguchi
VARLIB=/var/lib/madoguchi
SYSTEMD_DIR=/etc/systemd/system
UDEV_DIR=/etc/udev/rules.d

ROOT=""
HOST_MODE=1
WITH_PACKAGES=""
WHEEL_DIR=""
PYTHON=python3
REINSTALL=0
FORCE=0
CHANGED=0

log() { printf 'madoguchi-install: %s\n' "$*" >&2; }
die() { printf 'madoguchi-install: error: %s\n' "$*" >&2; exit "${2:-1}"; }

is_root_user() { [ "$(id -u)" = 0 ]; }

# r PATH: PATH inside the target tree.
r() { printf '%s%s' "$ROOT" "$1"; }

set_root() {
    [ -n "$1" ] || die "--root needs a directory" 2
    mkdir -p "$1"
    ROOT=$(cd "$1" && pwd)
    [ "$ROOT" = / ] && ROOT=""
    if [ -n "$ROOT" ]; then HOST_MODE=0; fi
}

# install_file SRC DEST MODE [OWNER:GROUP]: copy only when the content or mode differs.
install_file() {
    local src=$1 dest=$2 mode=$3 owner=${4:-root:root}
    local target
    target=$(r "$dest")
    mkdir -p "$(dirname "$target")"
    if [ -f "$target" ] && cmp -s "$src" "$target"; then
        chmod "$mode" "$target"
        chown_path "$owner" "$target"
        return 0
    fi
    local tmp="$target.tmp.$$"
    cp "$src" "$tmp"
    chmod "$mode" "$tmp"
    chown_path "$owner" "$tmp"
    mv -f "$tmp" "$target"
    CHANGED=1
    log "installed $dest"
}

# write_file DEST MODE OWNER: write standard input to DEST when it differs.
write_file() {
    local dest=$1 mode=$2 owner=${3:-root:root}
    local tmp
    tmp=$(mktemp)
    cat >"$tmp"
    install_file "$tmp" "$dest" "$mode" "$owner"
    rm -f "$tmp"
}

# ensure_dir PATH MODE OWNER:GROUP
ensure_dir() {
    local target
    target=$(r "$1")
    mkdir -p "$target"
    chmod "$2" "$target"
    chown_path "$3" "$target"
}

# chown_path OWNER:GROUP PATH: names on the host, numeric ids from ROOT/etc in --root mode;
# skipped (with the owner recorded in the manifest) when not running as root.
chown_path() {
    local owner=$1 path=$2
    is_root_user || return 0
    if [ "$HOST_MODE" = 1 ]; then
        chown -h "$owner" "$path"
        return 0
    fi
    local user=${owner%%:*} group=${owner##*:} uid gid
    uid=$(lookup_id "$(r /etc/passwd)" "$user")
    gid=$(lookup_id "$(r /etc/group)" "$group")
    if [ -z "$uid" ] || [ -z "$gid" ]; then die "no $owner in $ROOT/etc/passwd or group"; fi
    chown -h "$uid:$gid" "$path"
}

lookup_id() {
    if [ "$2" = root ]; then printf 0; return 0; fi
    [ -f "$1" ] || return 0
    awk -F: -v n="$2" '$1 == n { print $3; exit }' "$1"
}

# free_system_id FILE...: the highest id in 100..999 unused in every FILE (like useradd -r).
free_system_id() {
    local id
    for id in $(seq 999 -1 100); do
        if ! awk -F: -v i="$id" '$3 == i { found = 1 } END { exit !found }' "$@" 2>/dev/null
        then
            printf '%s' "$id"
            return 0
        fi
    done
    die "no free system id in 100..999"
}

ensure_user() {
    if [ "$HOST_MODE" = 1 ]; then
        if ! getent group "$APP_GROUP" >/dev/null; then
            groupadd --system "$APP_GROUP"
            CHANGED=1
        fi
        if ! getent passwd "$APP_USER" >/dev/null; then
            useradd --system --gid "$APP_GROUP" --home-dir "$VARLIB" --no-create-home \
                --shell /usr/sbin/nologin --comment "madoguchi POS" "$APP_USER"
            CHANGED=1
            log "created system user $APP_USER"
        fi
        local extra
        for extra in "$@"; do
            if getent group "$extra" >/dev/null && ! id -nG "$APP_USER" | grep -qw "$extra"; then
                usermod -a -G "$extra" "$APP_USER"
                CHANGED=1
            fi
        done
        return 0
    fi
    # --root: entries in ROOT/etc (no useradd on the host).
    local passwd group shadow gshadow gid uid
    passwd=$(r /etc/passwd) group=$(r /etc/group) shadow=$(r /etc/shadow) gshadow=$(r /etc/gshadow)
    mkdir -p "$(r /etc)"
    [ -e "$passwd" ] || : >"$passwd"
    [ -e "$group" ] || : >"$group"
    gid=$(lookup_id "$group" "$APP_GROUP")
    if [ -z "$gid" ]; then
        gid=$(free_system_id "$group" "$passwd")
        printf '%s:x:%s:\n' "$APP_GROUP" "$gid" >>"$group"
        if [ -f "$gshadow" ]; then printf '%s:!::\n' "$APP_GROUP" >>"$gshadow"; fi
        CHANGED=1
    fi
    uid=$(lookup_id "$passwd" "$APP_USER")
    if [ -z "$uid" ]; then
        if awk -F: -v i="$gid" '$3 == i { found = 1 } END { exit !found }' "$passwd"; then
            uid=$(free_system_id "$passwd" "$group")
        else
            uid=$gid
        fi
        printf '%s:x:%s:%s:madoguchi POS:%s:/usr/sbin/nologin\n' \
            "$APP_USER" "$uid" "$gid" "$VARLIB" >>"$passwd"
        if [ -f "$shadow" ]; then printf '%s:!*:19000::::::\n' "$APP_USER" >>"$shadow"; fi
        CHANGED=1
        log "added $APP_USER ($uid:$gid) to $ROOT/etc/passwd and group"
    fi
    local extra line new
    for extra in "$@"; do
        line=$(grep "^$extra:" "$group" || true)
        [ -n "$line" ] || continue
        case ",${line##*:}," in *",$APP_USER,"*) continue ;; esac
        if [ -z "${line##*:}" ]; then new="$line$APP_USER"; else new="$line,$APP_USER"; fi
        sed -i "s|^$extra:.*|$new|" "$group"
        CHANGED=1
    done
}

remove_user() {
    if [ "$HOST_MODE" = 1 ]; then
        if getent passwd "$APP_USER" >/dev/null; then userdel "$APP_USER"; fi
        if getent group "$APP_GROUP" >/dev/null; then groupdel "$APP_GROUP" 2>/dev/null || true; fi
        return 0
    fi
    local f
    for f in passwd shadow; do
        [ -f "$(r /etc/$f)" ] && sed -i "/^$APP_USER:/d" "$(r /etc/$f)"
    done
    for f in group gshadow; do
        [ -f "$(r /etc/$f)" ] || continue
        sed -i "/^$APP_GROUP:/d" "$(r /etc/$f)"
        sed -i -E "s/([:,])$APP_USER(,|$)/\\1/; s/,$//" "$(r /etc/$f)"
    done
}

# apt_install PKG...: on the host (root only); in --root mode only with --with-packages,
# then through chroot (the tree must be a Debian system with apt, e.g. from debootstrap).
apt_install() {
    local missing=() p
    if [ "$HOST_MODE" = 0 ] && [ -z "$WITH_PACKAGES" ]; then
        log "--root: system packages not installed (pass --with-packages): $*"
        return 0
    fi
    for p in "$@"; do
        if [ "$HOST_MODE" = 1 ]; then
            dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
        else
            chroot "$ROOT" dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
        fi
    done
    [ "${#missing[@]}" = 0 ] && return 0
    is_root_user || die "missing system packages: ${missing[*]} (run as root)"
    log "installing ${missing[*]}"
    local policy rc=0
    policy=$(hold_daemon_starts)
    if [ "$HOST_MODE" = 1 ]; then
        apt-get update -q && DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -q --no-install-recommends "${missing[@]}" || rc=$?
    else
        chroot "$ROOT" apt-get update -q && chroot "$ROOT" env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y -q --no-install-recommends "${missing[@]}" || rc=$?
    fi
    if [ -n "$policy" ]; then rm -f "$policy"; fi
    [ "$rc" = 0 ] || die "apt-get install ${missing[*]} failed (exit $rc): see the messages above"
    CHANGED=1
}

# hold_daemon_starts: where systemd is not running (a chroot, an image build, --root), a
# policy-rc.d (exit 101) keeps the packages' maintainer scripts from starting their daemons
# through /etc/init.d: they would outlive the install and keep the tree busy. Prints the
# file to remove afterwards ("" when none was needed or one was already there).
hold_daemon_starts() {
    local policy
    if [ "$HOST_MODE" = 1 ] && systemd_running; then return 0; fi
    policy=$(r /usr/sbin/policy-rc.d)
    [ ! -e "$policy" ] && [ -d "$(dirname "$policy")" ] || return 0
    printf '#!/bin/sh\n# madoguchi-install: no daemon starts while systemd is not running\nexit 101\n' \
        >"$policy"
    chmod 0755 "$policy"
    printf '%s' "$policy"
}

# set_timezone ZONE
set_timezone() {
    local zone=$1
    if [ "$HOST_MODE" = 1 ] && command -v timedatectl >/dev/null \
        && timedatectl show >/dev/null 2>&1; then
        if [ "$(timedatectl show -p Timezone --value)" != "$zone" ]; then
            timedatectl set-timezone "$zone"
            CHANGED=1
        fi
        return 0
    fi
    mkdir -p "$(r /etc)"
    if [ "$(readlink "$(r /etc/localtime)" 2>/dev/null)" != "/usr/share/zoneinfo/$zone" ]; then
        ln -sfn "/usr/share/zoneinfo/$zone" "$(r /etc/localtime)"
        CHANGED=1
    fi
    printf '%s\n' "$zone" | write_file /etc/timezone 0644
}

# --- releases: /opt/madoguchi/releases/<version>, current and previous symlinks -----------

# The dependencies are installed with pip --require-hashes from this lock (made by `make
# lock`), which travels next to the wheels: build_wheels and make-wheelhouse.sh put it there.
RUNTIME_LOCK_NAME=requirements-runtime.lock

# build_wheels SOURCE DIR: the app's wheel and the source tree's runtime lock, into DIR; the
# dependencies then come from the package index, each checked against the lock's hashes.
build_wheels() {
    local source=$1 dir=$2
    [ -f "$source/$RUNTIME_LOCK_NAME" ] || die "no $RUNTIME_LOCK_NAME in $source: run make lock"
    log "building the wheel from $source"
    "$PYTHON" -m pip wheel --quiet --no-deps -w "$dir" "$source" >&2 \
        || die "pip wheel failed in $source"
    cp "$source/$RUNTIME_LOCK_NAME" "$dir/$RUNTIME_LOCK_NAME"
}

# runtime_lock DIR: the runtime lock beside the wheels in DIR.
runtime_lock() {
    local lock=$1/$RUNTIME_LOCK_NAME
    [ -f "$lock" ] || die "no $RUNTIME_LOCK_NAME in $1: make the wheel folder with installer/make-wheelhouse.sh DIR (it adds the lock and the hashes of the wheels it builds)" 2
    printf '%s' "$lock"
}

# add_built_hashes LOCK DIR: for every wheel in DIR whose sha256 is not in LOCK (one pip built
# from a hash-checked sdist, e.g. pyscard), add that hash to the package's entry in LOCK, so
# pip --require-hashes --no-index accepts exactly these files. The app's own wheel is skipped
# (it is installed with --no-deps and its sha256 goes into .madoguchi-release).
add_built_hashes() {
    local lock=$1 dir=$2 wheel file name version sum
    for wheel in "$dir"/*.whl; do
        [ -f "$wheel" ] || continue
        file=$(basename "$wheel")
        name=${file%%-*}
        version=${file#"$name"-}
        version=${version%%-*}
        [ "$name" != madoguchi ] || continue
        sum=$(sha256sum "$wheel" | cut -d' ' -f1)
        grep -q "sha256:$sum" "$lock" && continue
        awk -v name="$name" -v version="$version" -v sum="$sum" '
            function norm(s) { s = tolower(s); gsub(/[-_.]+/, "-", s); return s }
            { print }
            !done && $1 ~ /==/ {
                split($1, pin, "==")
                if (norm(pin[1]) == norm(name) && pin[2] == version) {
                    print "    --hash=sha256:" sum " \\"
                    done = 1
                }
            }
            END { exit !done }' "$lock" >"$lock.new" \
            || die "$file is not in $lock: the wheels and the lock disagree"
        mv -f "$lock.new" "$lock"
        log "locked the built $file (sha256 $sum)"
    done
}

# app_wheel DIR: the madoguchi wheel in DIR (the newest version when several).
app_wheel() {
    local found
    found=$(find "$1" -maxdepth 1 -name 'madoguchi-*.whl' | sort -V | tail -n 1)
    [ -n "$found" ] || die "no madoguchi-*.whl in $1"
    printf '%s' "$found"
}

wheel_version() {
    local name
    name=$(basename "$1")
    name=${name#madoguchi-}
    printf '%s' "${name%%-*}"
}

# install_release WHEEL WHEEL_DIR: create releases/<version> (skipped when it is healthy) from
# WHEEL_DIR's runtime lock (hash-checked) and WHEEL (--no-deps).
install_release() {
    local wheel=$1 dir=$2 version release target sum lock
    lock=$(runtime_lock "$dir")
    version=$(wheel_version "$wheel")
    release=$OPT/releases/$version
    target=$(r "$release")
    sum=$(sha256sum "$wheel" | cut -d' ' -f1)
    if [ "$REINSTALL" = 0 ] && [ -f "$target/.madoguchi-release" ] \
        && "$target/bin/madoguchi" --version >/dev/null 2>&1; then
        log "release $version already installed"
        RELEASE_VERSION=$version
        return 0
    fi
    log "installing release $version into $release"
    rm -rf "$target.new"
    mkdir -p "$(dirname "$target")"
    "$PYTHON" -m venv "$target.new"
    local pip=("$target.new/bin/python" -m pip) pip_opts=(--quiet --disable-pip-version-check)
    if [ -n "$WHEEL_DIR" ]; then pip_opts+=(--no-index --find-links "$dir"); fi
    # Every dependency from the lock, each file checked against its sha256; then the app
    # alone (its requirements are those pins: pip check proves it).
    "${pip[@]}" install "${pip_opts[@]}" --require-hashes -r "$lock" >&2 \
        || abandon "$target.new" "pip install --require-hashes -r $lock failed (a file whose hash is not in the lock is refused)"
    "${pip[@]}" install "${pip_opts[@]}" --no-deps "$wheel" >&2 \
        || abandon "$target.new" "pip install of $wheel failed"
    "${pip[@]}" check >&2 \
        || abandon "$target.new" "pip check: the lock $lock does not satisfy $(basename "$wheel")"
    # The venv's scripts name their interpreter by absolute path: rename keeps it valid
    # only because the final path differs by the ".new" suffix, so rewrite the shebangs.
    grep -rlI --null "^#!$target.new/bin/" "$target.new/bin" \
        | xargs -0 -r sed -i "1s|^#!$target.new/bin/|#!$target/bin/|"
    sed -i "s|$target.new|$target|g" "$target.new/bin/activate" "$target.new/pyvenv.cfg" 2>/dev/null || true
    printf 'version=%s\nwheel=%s\nsha256=%s\n' "$version" "$(basename "$wheel")" "$sum" \
        >"$target.new/.madoguchi-release"
    rm -rf "$target"
    mv "$target.new" "$target"
    "$target/bin/madoguchi" --version >/dev/null || die "the new release does not start"
    CHANGED=1
    RELEASE_VERSION=$version
}

# abandon DIR MESSAGE: remove the half-built release DIR, then die with MESSAGE.
abandon() {
    rm -rf "$1"
    die "$2"
}

# current_release: the version the current symlink points at ("" if none).
current_release() {
    local link
    link=$(readlink "$(r "$OPT/current")" 2>/dev/null) || return 0
    basename "$link"
}

previous_release() {
    local link
    link=$(readlink "$(r "$OPT/previous")" 2>/dev/null) || return 0
    basename "$link"
}

# switch_link NAME VERSION: atomically point OPT/NAME at releases/VERSION (relative link).
switch_link() {
    local name=$1 version=$2 dir
    dir=$(r "$OPT")
    ln -sfn "releases/$version" "$dir/$name.new"
    mv -T "$dir/$name.new" "$dir/$name"
}

# prune_releases: remove every release that is neither current nor previous.
prune_releases() {
    local keep_current keep_previous d
    keep_current=$(current_release)
    keep_previous=$(previous_release)
    for d in "$(r "$OPT/releases")"/*; do
        [ -d "$d" ] || continue
        case "$(basename "$d")" in
            "$keep_current" | "$keep_previous") ;;
            *.new) rm -rf "$d" ;;
            *) log "removing old release $(basename "$d")"; rm -rf "$d"; CHANGED=1 ;;
        esac
    done
}

# systemd_running: systemd is PID 1 on this system (sd_booted). Not so in a chroot, an image
# build or a container: there the units are installed and enabled (files in /etc) and
# verified, but nothing is started.
systemd_running() { [ -d /run/systemd/system ]; }

# systemctl_host ARGS: a call that needs the running systemd (start, restart, daemon-reload,
# is-active); skipped with a note where none runs (is-active then answers "not active").
systemctl_host() {
    [ "$HOST_MODE" = 1 ] || return 0
    command -v systemctl >/dev/null || return 0
    if ! systemd_running; then
        log "systemd is not running (chroot or image build): skipped systemctl $*"
        [ "$1" != is-active ]
        return
    fi
    systemctl "$@"
}

# systemctl_files ARGS: enable, disable, set-default: symlinks in /etc/systemd/system that
# systemctl makes with or without a running systemd, so a chroot's units start at boot.
systemctl_files() {
    [ "$HOST_MODE" = 1 ] || return 0
    if ! command -v systemctl >/dev/null; then
        log "systemctl not found: skipped systemctl $*"
        return 0
    fi
    systemctl --quiet "$@"
}

# verify_units UNIT...: systemd-analyze verify of the installed units where it exists. A
# warning, not a failure: it also reports problems of the units they depend on.
verify_units() {
    [ "$HOST_MODE" = 1 ] || return 0
    if ! command -v systemd-analyze >/dev/null; then
        log "systemd-analyze not found: the units are not verified"
        return 0
    fi
    local unit out paths=()
    for unit in "$@"; do paths+=("$SYSTEMD_DIR/$unit"); done
    if out=$(systemd-analyze verify "${paths[@]}" 2>&1) && [ -z "$out" ]; then
        log "systemd units verified: $*"
    else
        log "warning: systemd-analyze verify $*: $out"
    fi
}
