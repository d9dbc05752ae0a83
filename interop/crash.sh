#!/usr/bin/env bash
# "Ack means durable" under SIGKILL (issue 7): two clients exchange messages with stream
# management on while chatrix-server is killed with SIGKILL and restarted, a few times; then
# every message the server acknowledged must be in the sender's archive and in the
# recipient's archive or offline store. The crash-test binary (chatrix-interop) starts and
# kills the server itself and prints the counts; this script gives it a fresh data dir, a
# config on free loopback ports and the accounts alice and bob (made with the CLI).
# CRASH_ARGS passes more options to crash-test (e.g. "--rounds 5 --seed 42"; see its --help).
# The server log is printed when the test fails.
# Usage: interop/crash.sh SERVER_BINARY [DATABASE_URL]
# (crash-test is taken from the server binary's directory, i.e. the same cargo target dir,
# unless CRASH_TEST_BIN says otherwise. DATABASE_URL defaults to the embedded SQLite; a
# postgres:// URL must name an existing, empty database.)
set -euo pipefail
bin="$(realpath "$1")"
db_url="${2:-}"
crash_bin="$(realpath "${CRASH_TEST_BIN:-$(dirname "$bin")/crash-test}")"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

port="$(python3 -c '
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
{
    echo 'data_dir = "data"'
    echo 'log_level = "info"'
    printf '[[listeners]]\nkind = "c2s-direct-tls"\naddress = "127.0.0.1"\nport = %s\n' "$port"
    if [ -n "$db_url" ]; then printf '[database]\nurl = "%s"\n' "$db_url"; fi
    # The offline round stores hundreds of messages for bob; the default limit (100) would
    # bounce most of them.
    printf '[account_classes.default]\nmax_offline_messages = 100000\n'
} > "$work/chatrix.toml"

label=SQLite
[ -n "$db_url" ] && label=PostgreSQL

cd "$work"
printf 'pw-alice\n' | "$bin" --config chatrix.toml user add alice@localhost --password-stdin
printf 'pw-bob\n' | "$bin" --config chatrix.toml user add bob@localhost --password-stdin
# shellcheck disable=SC2086 # CRASH_ARGS is a list of options
if ! "$crash_bin" --server-bin "$bin" --config "$work/chatrix.toml" --dir "$work" \
    --server-log "$work/server.log" --port "$port" --ca "$work/data/cert.pem" \
    --alice alice:pw-alice --bob bob:pw-bob --label "$label" \
    ${CRASH_ARGS:-}; then
    echo "--- server log (all runs)"; cat "$work/server.log"
    exit 1
fi
