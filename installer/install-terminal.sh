#!/usr/bin/env bash
# Install or update a madoguchi counter terminal (Debian 12; Ubuntu 24.04 works the same way).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$HERE/lib/common.sh"

usage() {
    cat <<'USAGE'
Usage: install-terminal.sh [OPTIONS]

Installs the madoguchi counter app on this machine (Debian 12; Ubuntu 24.04 is the same):
system packages (pcscd, fonts-noto-cjk, Qt runtime libraries, cage, time sync), the system
user "madoguchi", the app in /opt/madoguchi/releases/VERSION (a venv from a wheel built from
this source tree), /opt/madoguchi/current switched atomically (the previous release is kept
for --rollback), udev rules for card readers, receipt printers and USB-serial adapters,
systemd units (madoguchi-kiosk.service, madoguchi-backup.service/.timer), Asia/Tokyo time,
and /var/lib/madoguchi (0700). Safe to run again: an unchanged install changes nothing.

An update refuses to switch releases while a sale or a payment is open on the counter
(checked with "madoguchi status --require-idle"); --force overrides.

Options:
  --root DIR        install into the directory tree DIR instead of /: no apt-get (unless
                    --with-packages, then through chroot DIR), no useradd (the user and group
                    are appended to DIR/etc/passwd and DIR/etc/group, files are chowned to
                    those ids when run as root), no systemctl, no timedatectl (DIR/etc/localtime
                    is linked). For image building and CI. The venv's scripts name their
                    interpreter by the path inside DIR: run them in place, or rebuild the
                    release on the target with a plain install.
  --with-packages   with --root: also install system packages (chroot DIR apt-get)
  --no-packages     do not install system packages on the host
  --source DIR      the madoguchi source tree to build the wheel from (default: this repo)
  --wheel-dir DIR   install from wheels already in DIR (madoguchi-*.whl, all of its
                    dependencies and requirements-runtime.lock; pip --no-index, every file
                    hash-checked), made by installer/make-wheelhouse.sh DIR
  --python PATH     the Python 3.11+ interpreter for the venv (default: python3)
  --config FILE     install FILE as /etc/madoguchi/terminal.toml (kept if it exists; with
                    --replace-config it is replaced); a catalogues/ folder beside FILE is
                    copied too. With a config, the data folder and the terminal key (0600)
                    are created.
  --replace-config  replace an existing /etc/madoguchi/terminal.toml with --config FILE
  --reinstall       rebuild the release even if this version is installed
  --force           switch releases even while a sale is open (never needed normally)
  --restart         restart madoguchi-kiosk after switching (default: print a reminder)
  --rollback        switch current back to the previous release (and keep the other one
                    as previous); nothing else is changed
  --uninstall       remove the app, units, udev rules and the user; keep /var/lib/madoguchi
                    and /etc/madoguchi
  --purge           with --uninstall (or alone): also remove /var/lib/madoguchi and
                    /etc/madoguchi (the journal and the terminal key: back them up first!)
  -h, --help        this help

Exit codes: 0 done; 1 failed; 2 usage; 3 refused (a sale or payment is open).
USAGE
}

SOURCE=$(cd "$HERE/.." && pwd)
CONFIG_SRC=""
REPLACE_CONFIG=0
NO_PACKAGES=0
RESTART=0
ACTION=install
PURGE=0

while [ $# -gt 0 ]; do
    case $1 in
        --root) set_root "${2:-}"; shift ;;
        --with-packages) WITH_PACKAGES=1 ;;
        --no-packages) NO_PACKAGES=1 ;;
        --source) SOURCE=${2:?--source needs a directory}; shift ;;
        --wheel-dir) WHEEL_DIR=${2:?--wheel-dir needs a directory}; shift ;;
        --python) PYTHON=${2:?--python needs a path}; shift ;;
        --config) CONFIG_SRC=${2:?--config needs a file}; shift ;;
        --replace-config) REPLACE_CONFIG=1 ;;
        --reinstall) REINSTALL=1 ;;
        --force) FORCE=1 ;;
        --restart) RESTART=1 ;;
        --rollback) ACTION=rollback ;;
        --uninstall) ACTION=uninstall ;;
        --purge) ACTION=uninstall; PURGE=1 ;;
        -h | --help) usage; exit 0 ;;
        *) usage >&2; die "unknown option: $1" 2 ;;
    esac
    shift
done

if [ "$HOST_MODE" = 1 ] && ! is_root_user; then
    die "run as root (or use --root DIR to install into a directory tree)" 2
fi

# udev applies the device rules (and makes the input and render groups); libpam-systemd is
# the pam_systemd.so of the kiosk's PAM session; tzdata has Asia/Tokyo. A minimal Debian
# (debootstrap --variant=minbase) has none of them.
PACKAGES=(pcscd fonts-noto-cjk libglib2.0-0 libegl1 libgl1 libx11-6 libxkbcommon0
    libfontconfig1 libfreetype6 libdbus-1-3 cage python3 python3-venv udev libpam-systemd tzdata)
UNITS=(madoguchi-kiosk.service madoguchi-backup.service madoguchi-backup.timer)
TERMINAL_CONFIG=$ETC/terminal.toml

time_sync_package() {
    # systemd-timesyncd is Debian's default; keep chrony when it is the one installed.
    if [ "$HOST_MODE" = 1 ] && dpkg -s chrony >/dev/null 2>&1; then echo chrony; return; fi
    echo systemd-timesyncd
}

# app_status: "madoguchi status" of the counter's journal, run from RELEASE (read-only).
idle_check() {
    local release=$1
    [ -f "$(r "$TERMINAL_CONFIG")" ] || return 0
    local args=(status --config "$(r "$TERMINAL_CONFIG")" --require-idle)
    if [ "$HOST_MODE" = 0 ]; then args+=(--root "$ROOT"); fi
    local out rc=0
    out=$("$(r "$OPT/releases/$release")/bin/madoguchi" "${args[@]}" 2>&1) || rc=$?
    case $rc in
        0) return 0 ;;
        1)
            if [ "$FORCE" = 1 ]; then
                log "a sale or payment is open, switching anyway (--force): $out"
                return 0
            fi
            log "$out"
            die "a sale or payment is open on this counter: finish or cancel it, then run the update again (or --force)" 3
            ;;
        *) die "cannot read the counter's status: $out" ;;
    esac
}

# switch_to VERSION: current -> VERSION, previous -> the old current.
switch_to() {
    local version=$1 old
    old=$(current_release)
    if [ "$old" = "$version" ]; then
        log "current release is $version"
        return 0
    fi
    if [ -n "$old" ]; then
        idle_check "$version"
        switch_link previous "$old"
    fi
    switch_link current "$version"
    CHANGED=1
    log "current release: $version${old:+ (previous: $old)}"
    restart_reminder
}

restart_reminder() {
    if [ "$HOST_MODE" = 1 ] && systemctl_host is-active --quiet madoguchi-kiosk.service; then
        if [ "$RESTART" = 1 ]; then
            systemctl_host restart madoguchi-kiosk.service
        else
            log "restart the counter app when the counter is quiet: systemctl restart madoguchi-kiosk"
        fi
    fi
}

install_config() {
    local dest
    dest=$(r "$TERMINAL_CONFIG")
    if [ -n "$CONFIG_SRC" ]; then
        [ -f "$CONFIG_SRC" ] || die "--config $CONFIG_SRC: no such file" 2
        if [ ! -f "$dest" ] || [ "$REPLACE_CONFIG" = 1 ]; then
            install_file "$CONFIG_SRC" "$TERMINAL_CONFIG" 0640 "root:$APP_GROUP"
        elif ! cmp -s "$CONFIG_SRC" "$dest"; then
            log "kept the existing $TERMINAL_CONFIG (pass --replace-config to replace it)"
        fi
        local catalogues
        catalogues="$(dirname "$CONFIG_SRC")/catalogues"
        if [ -d "$catalogues" ]; then
            local f
            for f in "$catalogues"/*.toml; do
                [ -f "$f" ] || continue
                install_file "$f" "$ETC/catalogues/$(basename "$f")" 0644
            done
        fi
    fi
    install_file "$HERE/etc/terminal.toml.example" "$ETC/terminal.toml.example" 0644
    if [ ! -f "$(r "$ETC/backup.conf")" ]; then
        install_file "$HERE/etc/backup.conf" "$ETC/backup.conf" 0644
    fi
}

# ensure_data: the config's data folder (0700) and terminal key (0600), owned by the user.
ensure_data() {
    ensure_dir "$VARLIB" 0700 "$APP_USER:$APP_GROUP"
    [ -f "$(r "$TERMINAL_CONFIG")" ] || {
        log "no $TERMINAL_CONFIG yet: install one (--config FILE), then run this again"
        return 0
    }
    local bin args paths data_dir key_path
    bin=$(r "$OPT/current")/bin/madoguchi
    args=(status --config "$(r "$TERMINAL_CONFIG")" --paths)
    if [ "$HOST_MODE" = 0 ]; then args+=(--root "$ROOT"); fi
    paths=$("$bin" "${args[@]}") || die "the config $TERMINAL_CONFIG does not load"
    data_dir=$(sed -n 's/^data_dir=//p' <<<"$paths")
    key_path=$(sed -n 's/^key_path=//p' <<<"$paths")
    case $data_dir in
        "$ROOT$VARLIB" | "$ROOT$VARLIB"/*) ;;
        *) log "warning: the config keeps its data in ${data_dir#"$ROOT"}, not under $VARLIB: the kiosk unit can write only $VARLIB" ;;
    esac
    mkdir -p "$data_dir"
    chmod 0700 "$data_dir"
    chown_path "$APP_USER:$APP_GROUP" "$data_dir"
    if [ ! -e "$key_path" ]; then
        mkdir -p "$(dirname "$key_path")"
        "$(r "$OPT/current")/bin/python" -c \
            'import sys; from pathlib import Path; from terminal.journal import TerminalKey; TerminalKey.load_or_create(Path(sys.argv[1]))' \
            "$key_path"
        CHANGED=1
        log "created the terminal key ${key_path#"$ROOT"} (back it up: the journal cannot be continued without it)"
    fi
    chmod 0600 "$key_path"
    chown_path "$APP_USER:$APP_GROUP" "$key_path"
}

do_install() {
    local wheel_dir wheel
    if [ "$NO_PACKAGES" = 0 ]; then
        apt_install "${PACKAGES[@]}" "$(time_sync_package)"
    fi
    ensure_user video input render
    if [ -n "$WHEEL_DIR" ]; then
        wheel_dir=$WHEEL_DIR
    else
        BUILD_DIR=$(mktemp -d)
        trap 'rm -rf "$BUILD_DIR"' EXIT
        wheel_dir=$BUILD_DIR
        build_wheels "$SOURCE" "$wheel_dir"
    fi
    wheel=$(app_wheel "$wheel_dir")
    ensure_dir "$OPT" 0755 root:root
    ensure_dir "$OPT/releases" 0755 root:root
    install_release "$wheel" "$wheel_dir"
    ensure_dir "$ETC" 0755 root:root
    install_config
    switch_to "$RELEASE_VERSION"
    prune_releases
    ensure_data
    if [ -f "$HERE/../docs/operations.md" ]; then
        install_file "$HERE/../docs/operations.md" "$OPT/doc/operations.md" 0644
    fi
    install_file "$HERE/bin/madoguchi-backup" "$OPT/libexec/madoguchi-backup" 0755
    install_file "$HERE/udev/60-madoguchi.rules" "$UDEV_DIR/60-madoguchi.rules" 0644
    install_file "$HERE/pam/madoguchi-kiosk" /etc/pam.d/madoguchi-kiosk 0644
    local unit
    for unit in "${UNITS[@]}"; do
        install_file "$HERE/systemd/$unit" "$SYSTEMD_DIR/$unit" 0644
    done
    set_timezone Asia/Tokyo
    verify_units "${UNITS[@]}"
    if [ "$HOST_MODE" = 1 ]; then
        if command -v udevadm >/dev/null && [ -d /run/udev ]; then
            udevadm control --reload-rules
            udevadm trigger --subsystem-match=usb --subsystem-match=tty --subsystem-match=usbmisc
        fi
        systemctl_host daemon-reload
        systemctl_files enable pcscd.socket madoguchi-backup.timer madoguchi-kiosk.service
        systemctl_files set-default graphical.target
        systemctl_host start madoguchi-backup.timer
    fi
    if [ "$CHANGED" = 0 ]; then
        log "nothing to change: madoguchi $RELEASE_VERSION is installed"
    else
        log "done: madoguchi $RELEASE_VERSION installed"
    fi
}

do_rollback() {
    local current previous
    current=$(current_release)
    previous=$(previous_release)
    if [ -z "$previous" ] || [ ! -d "$(r "$OPT/releases/$previous")" ]; then
        die "no previous release to roll back to"
    fi
    idle_check "$current"
    switch_link current "$previous"
    switch_link previous "$current"
    log "rolled back: current $previous (previous: $current)"
    restart_reminder
}

do_uninstall() {
    local unit
    if [ "$HOST_MODE" = 1 ]; then
        for unit in "${UNITS[@]}"; do
            systemctl_host stop "$unit" 2>/dev/null || true
            systemctl_files disable "$unit" 2>/dev/null || true
        done
    fi
    for unit in "${UNITS[@]}"; do rm -f "$(r "$SYSTEMD_DIR/$unit")"; done
    rm -f "$(r "$UDEV_DIR/60-madoguchi.rules")" "$(r /etc/pam.d/madoguchi-kiosk)"
    rm -rf "$(r "$OPT")"
    systemctl_host daemon-reload
    if [ "$PURGE" = 1 ]; then
        rm -rf "$(r "$VARLIB")" "$(r "$ETC")"
        remove_user
        log "purged: the app, $VARLIB and $ETC are removed"
    else
        log "uninstalled; kept $VARLIB (journal, key) and $ETC; the user $APP_USER stays as their owner"
    fi
}

case $ACTION in
    install) do_install ;;
    rollback) do_rollback ;;
    uninstall) do_uninstall ;;
esac
