#!/usr/bin/env bash
# The server measurements of docs/performance.md, side by side for several builds.
#
#   perf.sh setup BACKEND                      data dir with 200 loadtest accounts
#   perf.sh run BUILD BACKEND on|off MODE      MODE: paced (2,000/s), sat (8 in flight), p500, logins
#   perf.sh idle BUILD BACKEND [COUNT]         memory per idle TLS session (default 10,000)
#
# BACKEND is sqlite or pg (the database chatrix_perf_lt on 127.0.0.1:5432, recreated by setup).
# BUILD names a directory $PERF_DIR/builds/BUILD holding a release chatrix-server (copy
# target/release/chatrix-server there for each build you compare). The load generator is
# $LOADGEN (default: target/release/chatrix-loadgen of this checkout). Data dirs, configs,
# server logs and outputs go under $PERF_DIR (default /tmp/chatrix-perf). `run` empties the
# archive and offline tables and restarts the server, so runs do not feed each other. A data
# dir is made by the build given as SETUP_BUILD (default: base); a build with an older schema
# needs a data dir of its own (another PERF_DIR).
set -euo pipefail
here="$(cd "$(dirname "$0")/../.." && pwd)"
PERF_DIR="${PERF_DIR:-/tmp/chatrix-perf}"
LOADGEN="$(realpath "${LOADGEN:-$here/target/release/chatrix-loadgen}")"
PORT=25222
PG_URL="postgres://postgres@127.0.0.1:5432"

server() { echo "$PERF_DIR/builds/$1/chatrix-server"; }

setup() {
    local b=$1 d="$PERF_DIR/$1"
    mkdir -p "$d"
    cd "$d"
    for a in on off; do
        {
            echo 'data_dir = "data"'
            echo 'log_level = "warn"'
            printf '[[listeners]]\nkind = "c2s-starttls"\naddress = "127.0.0.1"\nport = %s\n' "$PORT"
            if [ "$b" = pg ]; then printf '[database]\nurl = "%s/chatrix_perf_lt"\n' "$PG_URL"; fi
            printf '[account_classes.default]\nmax_offline_messages = 100000\n'
            printf '[archive]\nenabled = %s\n' "$([ "$a" = on ] && echo true || echo false)"
        } > "chatrix-$a.toml"
    done
    if [ "$b" = pg ]; then
        psql -h 127.0.0.1 -U postgres -d test -qc "DROP DATABASE IF EXISTS chatrix_perf_lt WITH (FORCE)"
        psql -h 127.0.0.1 -U postgres -d test -qc "CREATE DATABASE chatrix_perf_lt"
    fi
    "$LOADGEN" accounts --count 200 | while read -r jid; do
        echo loadtest | "$(server "${SETUP_BUILD:-base}")" --config chatrix-on.toml user add "$jid" \
            --password-stdin > /dev/null
    done
    echo "set up $d"
}

start() { # BUILD BACKEND on|off: starts the server in the backend's data dir; sets PID
    cd "$PERF_DIR/$2"
    ulimit -n 30000 2> /dev/null || true
    "$(server "$1")" --config "chatrix-$3.toml" > "server-$1.log" 2>&1 &
    PID=$!
    for _ in $(seq 1 50); do
        (echo > "/dev/tcp/127.0.0.1/$PORT") 2> /dev/null && return
        sleep 0.2
    done
    echo "the server did not start: see $PERF_DIR/$2/server-$1.log"
    exit 1
}

stop() { kill "$PID"; wait "$PID" 2> /dev/null || true; }

lg() {
    "$LOADGEN" --server "127.0.0.1:$PORT" --ca-file data/cert.pem --server-pid "$PID" \
        --accounts 200 --mechanism SCRAM-SHA-256 "$@"
}

run() {
    local build=$1 b=$2 a=$3 mode=$4
    if [ "$b" = pg ]; then
        psql -h 127.0.0.1 -U postgres -d chatrix_perf_lt -qc "TRUNCATE archive; TRUNCATE offline_messages"
    else
        sqlite3 "$PERF_DIR/$b/data/chatrix.db" "DELETE FROM archive; DELETE FROM offline_messages"
    fi
    start "$build" "$b" "$a"
    local out="$PERF_DIR/out-$build-$b-$a-$mode-$(date +%H%M%S).txt"
    case $mode in
        paced) lg messages --pairs 100 --rate 2000 --duration 20 ;;
        sat) lg messages --pairs 100 --rate 0 --window 8 --duration 15 ;;
        p500) lg messages --pairs 100 --rate 500 --duration 20 ;;
        logins) lg logins --count 2000 --concurrency 50 ;;
        *) echo "unknown mode $mode"; stop; exit 2 ;;
    esac > "$out" 2>&1 || true
    stop
    echo "== $build $b archive $a $mode ($out)"
    grep -E "messages:|rate:|latency|logins/s|CPU per (message|login)" "$out" || tail -5 "$out"
}

idle() {
    start "$1" "$2" on
    lg --concurrency 100 idle --count "${3:-10000}" --hold 5 2>&1 | grep -E "memory per idle|dropped"
    stop
}

cmd="${1:-}"
shift || true
case "$cmd" in
    setup) setup "$@" ;;
    run) run "$@" ;;
    idle) idle "$@" ;;
    *) sed -n '2,15p' "$0"; exit 2 ;;
esac
