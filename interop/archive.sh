#!/usr/bin/env bash
# Message archive (XEP-0313 with RSM paging, XEP-0441 preferences, metadata) and blocking
# (XEP-0191) driven by slixmpp's own plugins (interop/slixmpp_archive.py) against the built
# chatrix-server.
# Starts the server on a free loopback port with a fresh data dir and the given database,
# creates the accounts alice, bob and carol with the CLI, runs the client, and stops the
# server. INTEROP_DEBUG=1 passes --debug (slixmpp's stanza log) and runs the server at log
# level debug. The server log is printed when the client fails.
# Usage: interop/archive.sh SERVER_BINARY [DATABASE_URL]
# (DATABASE_URL defaults to the embedded SQLite; a postgres:// URL must name an existing,
# empty database.)
set -euo pipefail
bin="$(realpath "$1")"
db_url="${2:-}"
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
server_pid=""
cleanup() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
    fi
    rm -rf "$work"
}
trap cleanup EXIT
log_level=info
[ -n "${INTEROP_DEBUG:-}" ] && log_level=debug

port="$(python3 -c '
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
{
    echo 'data_dir = "data"'
    echo "log_level = \"$log_level\""
    printf '[[listeners]]\nkind = "c2s-starttls"\naddress = "127.0.0.1"\nport = %s\n' "$port"
    if [ -n "$db_url" ]; then printf '[database]\nurl = "%s"\n' "$db_url"; fi
} > "$work/chatrix.toml"

cd "$work"
for user in alice bob carol; do
    printf 'pw-%s\n' "$user" | "$bin" --config chatrix.toml user add "$user@localhost" --password-stdin
done
"$bin" --config chatrix.toml > server.log 2>&1 &
server_pid=$!
up=""
for _ in $(seq 1 100); do
    if [ -s data/cert.pem ] && python3 -c "
import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null; then
        up=1
        break
    fi
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
done
if [ -z "$up" ]; then
    echo "FAILED: the server did not start listening on 127.0.0.1:$port"
    echo "--- server log"; cat server.log
    exit 1
fi
echo "--- slixmpp_archive.py (${db_url:-SQLite})"
if ! python3 "$here/slixmpp_archive.py" --starttls-port "$port" --ca data/cert.pem \
    --alice alice@localhost:pw-alice --bob bob@localhost:pw-bob --carol carol@localhost:pw-carol \
    ${INTEROP_DEBUG:+--debug}; then
    echo "--- server log"; cat server.log
    exit 1
fi
