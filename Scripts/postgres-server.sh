#!/usr/bin/env bash
# A throwaway PostgreSQL server for the cluster tests (and anyone trying the cluster out).
#
#   Scripts/postgres-server.sh install            installs the server binaries if absent (Debian's
#                                                 `postgresql`, with apt-get: needs root)
#   Scripts/postgres-server.sh bindir             prints the folder of initdb and pg_ctl
#   Scripts/postgres-server.sh start DIR [PID [ADDRESSES NETWORK]]
#                                                 initdb into DIR/data (DIR: an empty folder), starts
#                                                 the server on 127.0.0.1 and a free port, fsync off,
#                                                 and prints its URL; with PID, the server is stopped
#                                                 and DIR removed once that process is gone (a test
#                                                 run that crashed leaves nothing running); with
#                                                 ADDRESSES (comma-separated) it listens there too,
#                                                 and admits clients from NETWORK (a CIDR) without a
#                                                 password, as it does on loopback
#   Scripts/postgres-server.sh restart DIR        restarts it (`pg_ctl restart -m fast`: clients are
#                                                 disconnected, the same port and options)
#   Scripts/postgres-server.sh stop DIR           stops it (immediate) and removes DIR
#
# pg_ctl refuses to run as root: as root, the server runs as the `postgres` user (made by the
# Debian package), which owns DIR.
set -euo pipefail
# shellcheck source=debian-package.sh
source "$(dirname "$0")/debian-package.sh"

bindir() {
    local candidate
    if command -v pg_config > /dev/null; then
        candidate=$(pg_config --bindir 2> /dev/null || true)
        if [ -n "$candidate" ] && [ -x "$candidate/initdb" ] && [ -x "$candidate/pg_ctl" ]; then
            echo "$candidate"
            return 0
        fi
    fi
    for candidate in $(ls -d /usr/lib/postgresql/*/bin 2> /dev/null | sort -V -r); do
        if [ -x "$candidate/initdb" ] && [ -x "$candidate/pg_ctl" ]; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

# Runs a command as the server's user: `postgres` when we are root, else ourselves.
as_server() {
    if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi
}

install() { debian_install postgres-server postgresql bindir; }

start() {
    local dir=$1 watch=${2:-} addresses=${3:-} network=${4:-}
    local bin
    bin=$(bindir) || { echo "postgres-server: no PostgreSQL server binaries; run '$0 install' as root" >&2; return 1; }
    if [ "$(id -u)" = 0 ]; then chown postgres "$dir"; fi
    as_server "$bin/initdb" -D "$dir/data" -U postgres --auth=trust -E UTF8 --no-sync > "$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; return 1; }
    local listen=127.0.0.1
    if [ -n "$addresses" ]; then
        listen="127.0.0.1,$addresses"
        echo "host all all $network trust" | as_server tee -a "$dir/data/pg_hba.conf" > /dev/null
    fi
    local port tries=0
    while :; do
        port=$((20000 + RANDOM % 30000))
        if as_server "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -w -t 30 start -o \
            "-c listen_addresses=$listen -p $port -k $dir -c fsync=off -c synchronous_commit=off -c full_page_writes=off -c max_connections=200" \
            > /dev/null 2>&1; then
            break
        fi
        tries=$((tries + 1))
        # A port in use is the usual reason; anything else shows in the log after a few tries.
        if [ "$tries" -ge 5 ]; then
            echo "postgres-server: the server did not start; its log:" >&2
            cat "$dir/log" >&2 || true
            return 1
        fi
    done
    if [ -n "$watch" ]; then
        # Stops the server once the process that asked for it is gone, however it ended.
        setsid bash -c "while [ -r /proc/$watch/status ] && ! grep -q '^State:[[:space:]]*Z' /proc/$watch/status 2> /dev/null; do sleep 1; done; '$0' stop '$dir'" < /dev/null > /dev/null 2>&1 &
    fi
    echo "postgres://postgres@127.0.0.1:$port/postgres"
}

restart() {
    local dir=$1 bin
    bin=$(bindir) || { echo "postgres-server: no PostgreSQL server binaries" >&2; return 1; }
    as_server "$bin/pg_ctl" -D "$dir/data" -l "$dir/log" -m fast -w -t 30 restart > /dev/null 2>&1 \
        || { echo "postgres-server: the restart failed; its log:" >&2; tail -n 20 "$dir/log" >&2; return 1; }
}

stop() {
    local dir=$1 bin
    if [ -d "$dir/data" ] && bin=$(bindir); then
        as_server "$bin/pg_ctl" -D "$dir/data" -m immediate -w -t 30 stop > /dev/null 2>&1 || true
    fi
    rm -rf "$dir"
}

# Descriptors beyond 0-2 that the caller let this script inherit are not its to keep: a server
# or watcher started here would hold them for its whole life, and a caller's pipe held open
# that way can make whoever waits for its end of file wait forever (seen: ThreadSanitizer's
# symbolizer pipe, kept open by a test's server, held `swift test` after the tests had ended).
for inherited in /proc/$$/fd/*; do
    inherited=${inherited##*/}
    case $inherited in 0|1|2|255|*[!0-9]*) ;; *) eval "exec $inherited>&-" 2> /dev/null || true ;; esac
done

case "${1:-}" in
    install) install ;;
    bindir) bindir ;;
    start) start "${2:?start DIR [PID [ADDRESSES NETWORK]]}" "${3:-}" "${4:-}" "${5:-}" ;;
    restart) restart "${2:?restart DIR}" ;;
    stop) stop "${2:?stop DIR}" ;;
    *) echo "usage: $0 install | bindir | start DIR [PID [ADDRESSES NETWORK]] | restart DIR | stop DIR" >&2; exit 2 ;;
esac
