#!/usr/bin/env bash
# Install or update the madoguchi central server (Debian 12; Ubuntu 24.04 works the same way).
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source-path=SCRIPTDIR source=lib/common.sh
. "$HERE/lib/common.sh"

usage() {
    cat <<'USAGE'
Usage: install-server.sh [OPTIONS]

Installs the madoguchi central server: system packages (postgresql, python3-venv), the
PostgreSQL role and database "madoguchi" (peer authentication over the local socket: no
password anywhere), the system user "madoguchi", the app in /opt/madoguchi/releases/VERSION
with /opt/madoguchi/current switched atomically (previous release kept for --rollback),
/etc/madoguchi/server.env, madoguchi-server.service (runs "madoguchi server init", the
idempotent migration, before every start) and a daily pg_dump backup timer
(madoguchi-server-backup.service/.timer, settings in /etc/madoguchi/server-backup.conf).
An nginx TLS reverse proxy example goes to /etc/madoguchi/nginx-madoguchi-server.conf.example.
Safe to run again: an unchanged install changes nothing.

Options:
  --root DIR        install into the directory tree DIR instead of /: no apt-get (unless
                    --with-packages, through chroot DIR), no psql (the database is not
                    created), no useradd (entries appended to DIR/etc/passwd and group), no
                    systemctl. For image building and CI.
  --with-packages   with --root: also install system packages (chroot DIR apt-get)
  --no-packages     do not install system packages on the host
  --no-database     do not create the PostgreSQL role and database (e.g. a remote database:
                    set MADOGUCHI_DATABASE_URL in /etc/madoguchi/server.env)
  --source DIR      the madoguchi source tree to build the wheel from (default: this repo)
  --wheel-dir DIR   install from wheels already in DIR (pip --no-index, hash-checked
                    against DIR/requirements-runtime.lock), made by installer/make-wheelhouse.sh
  --python PATH     the Python 3.11+ interpreter for the venv (default: python3)
  --reinstall       rebuild the release even if this version is installed
  --rollback        switch current back to the previous release
  --uninstall       remove the app, units and the user; keep the database, /var/backups/madoguchi
                    and /etc/madoguchi
  --purge           also drop the database and role and remove /etc/madoguchi and the backups
  -h, --help        this help

Exit codes: 0 done; 1 failed; 2 usage.
USAGE
}

SOURCE=$(cd "$HERE/.." && pwd)
NO_PACKAGES=0
NO_DATABASE=0
ACTION=install
PURGE=0
DB_NAME=madoguchi
DB_ROLE=madoguchi
BACKUPS=/var/backups/madoguchi

while [ $# -gt 0 ]; do
    case $1 in
        --root) set_root "${2:-}"; shift ;;
        --with-packages) WITH_PACKAGES=1 ;;
        --no-packages) NO_PACKAGES=1 ;;
        --no-database) NO_DATABASE=1 ;;
        --source) SOURCE=${2:?--source needs a directory}; shift ;;
        --wheel-dir) WHEEL_DIR=${2:?--wheel-dir needs a directory}; shift ;;
        --python) PYTHON=${2:?--python needs a path}; shift ;;
        --reinstall) REINSTALL=1 ;;
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

# systemd: a minimal Debian root (an image build) has no init to run the units with.
PACKAGES=(postgresql postgresql-client python3 python3-venv tzdata systemd)
UNITS=(madoguchi-server.service madoguchi-server-backup.service madoguchi-server-backup.timer)

psql_postgres() {
    runuser -u postgres -- psql --no-psqlrc -v ON_ERROR_STOP=1 -qAt "$@"
}

ensure_database() {
    if [ "$HOST_MODE" = 0 ] || [ "$NO_DATABASE" = 1 ]; then
        log "database not created (--root or --no-database): create role and database $DB_NAME yourself"
        return 0
    fi
    if ! systemd_running; then
        log "systemd is not running (chroot or image build): PostgreSQL cannot be started here; run install-server.sh again on the booted system to create the database"
        return 0
    fi
    systemctl_host enable --now postgresql.service
    if [ "$(psql_postgres -c "SELECT 1 FROM pg_roles WHERE rolname = '$DB_ROLE'")" != 1 ]; then
        psql_postgres -c "CREATE ROLE $DB_ROLE LOGIN"
        CHANGED=1
        log "created PostgreSQL role $DB_ROLE"
    fi
    if [ "$(psql_postgres -c "SELECT 1 FROM pg_database WHERE datname = '$DB_NAME'")" != 1 ]; then
        psql_postgres -c "CREATE DATABASE $DB_NAME OWNER $DB_ROLE ENCODING 'UTF8' TEMPLATE template0"
        CHANGED=1
        log "created PostgreSQL database $DB_NAME"
    fi
}

drop_database() {
    if [ "$HOST_MODE" = 0 ] || [ "$NO_DATABASE" = 1 ]; then return 0; fi
    command -v psql >/dev/null || return 0
    if command -v pg_isready >/dev/null && ! pg_isready -q; then
        log "PostgreSQL is not running: database $DB_NAME and role $DB_ROLE are not dropped"
        return 0
    fi
    psql_postgres -c "DROP DATABASE IF EXISTS $DB_NAME" || true
    psql_postgres -c "DROP ROLE IF EXISTS $DB_ROLE" || true
}

install_configs() {
    ensure_dir "$ETC" 0755 root:root
    if [ ! -f "$(r "$ETC/server.env")" ]; then
        install_file "$HERE/etc/server.env" "$ETC/server.env" 0640 "root:$APP_GROUP"
    fi
    if [ ! -f "$(r "$ETC/server-backup.conf")" ]; then
        install_file "$HERE/etc/server-backup.conf" "$ETC/server-backup.conf" 0644
    fi
    install_file "$HERE/nginx/madoguchi-server.conf.example" \
        "$ETC/nginx-madoguchi-server.conf.example" 0644
}

do_install() {
    local wheel_dir wheel old
    if [ "$NO_PACKAGES" = 0 ]; then apt_install "${PACKAGES[@]}"; fi
    # shellcheck disable=SC2119 # no extra groups for the server user
    ensure_user
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
    old=$(current_release)
    if [ "$old" != "$RELEASE_VERSION" ]; then
        if [ -n "$old" ]; then switch_link previous "$old"; fi
        switch_link current "$RELEASE_VERSION"
        CHANGED=1
        log "current release: $RELEASE_VERSION${old:+ (previous: $old)}"
    fi
    prune_releases
    install_configs
    ensure_dir "$BACKUPS" 0700 "$APP_USER:$APP_GROUP"
    if [ -f "$HERE/../docs/operations.md" ]; then
        install_file "$HERE/../docs/operations.md" "$OPT/doc/operations.md" 0644
    fi
    install_file "$HERE/bin/madoguchi-server-backup" "$OPT/libexec/madoguchi-server-backup" 0755
    local unit
    for unit in "${UNITS[@]}"; do
        install_file "$HERE/systemd/$unit" "$SYSTEMD_DIR/$unit" 0644
    done
    set_timezone Asia/Tokyo
    verify_units "${UNITS[@]}"
    ensure_database
    if [ "$HOST_MODE" = 1 ]; then
        systemctl_host daemon-reload
        systemctl_files enable madoguchi-server.service madoguchi-server-backup.timer
        if [ "$CHANGED" = 1 ]; then systemctl_host restart madoguchi-server.service; fi
        systemctl_host start madoguchi-server-backup.timer
    fi
    if [ "$CHANGED" = 0 ]; then
        log "nothing to change: madoguchi server $RELEASE_VERSION is installed"
    else
        log "done: madoguchi server $RELEASE_VERSION installed"
    fi
}

do_rollback() {
    local current previous
    current=$(current_release)
    previous=$(previous_release)
    if [ -z "$previous" ] || [ ! -d "$(r "$OPT/releases/$previous")" ]; then
        die "no previous release to roll back to"
    fi
    switch_link current "$previous"
    switch_link previous "$current"
    log "rolled back: current $previous (previous: $current); the database schema is not downgraded"
    systemctl_host restart madoguchi-server.service
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
    rm -rf "$(r "$OPT")"
    systemctl_host daemon-reload
    if [ "$PURGE" = 1 ]; then
        drop_database
        rm -rf "$(r "$ETC")" "$(r "$BACKUPS")"
        remove_user
        log "purged: the app, the database, $ETC and $BACKUPS are removed"
    else
        log "uninstalled; kept the database, $ETC and $BACKUPS"
    fi
}

case $ACTION in
    install) do_install ;;
    rollback) do_rollback ;;
    uninstall) do_uninstall ;;
esac
