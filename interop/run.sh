#!/usr/bin/env bash
# Starts the built chatrix-server on free loopback ports with a fresh data dir and the given
# database, creates two accounts with the CLI, runs the slixmpp interop clients against it
# (slixmpp_c2s.py: login and messages; slixmpp_im.py: rosters, subscriptions, presence and
# offline messages), and stops the server. INTEROP_DEBUG=1 passes --debug to them (slixmpp's
# stanza log). Usage: interop/run.sh SERVER_BINARY [DATABASE_URL]
# (DATABASE_URL defaults to the embedded SQLite; a postgres:// URL must name an existing,
# empty database.)
set -euo pipefail
bin="$(realpath "$1")"
db_url="${2:-}"
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
server_pid=""
cleanup() {
    [ -n "$server_pid" ] && kill "$server_pid" 2>/dev/null && wait "$server_pid" 2>/dev/null
    rm -rf "$work"
}
trap cleanup EXIT

read -r p1 p2 < <(python3 -c '
import socket
s=[socket.socket() for _ in range(2)]
[x.bind(("127.0.0.1",0)) for x in s]
print(*[x.getsockname()[1] for x in s])')

{
    echo 'data_dir = "data"'
    echo 'log_level = "info"'
    printf '[[listeners]]\nkind = "c2s-starttls"\naddress = "127.0.0.1"\nport = %s\n' "$p1"
    printf '[[listeners]]\nkind = "c2s-direct-tls"\naddress = "127.0.0.1"\nport = %s\n' "$p2"
    if [ -n "$db_url" ]; then printf '[database]\nurl = "%s"\n' "$db_url"; fi
} > "$work/chatrix.toml"

cd "$work"
printf 'pw-alice\n' | "$bin" --config chatrix.toml user add alice@localhost --password-stdin
printf 'pw-bob\n' | "$bin" --config chatrix.toml user add bob@localhost --password-stdin
"$bin" --config chatrix.toml > server.log 2>&1 &
server_pid=$!
for _ in $(seq 1 100); do
    python3 -c "import socket; socket.create_connection(('127.0.0.1', $p2), 0.2)" 2>/dev/null && break
    sleep 0.1
done
for test in slixmpp_c2s.py slixmpp_im.py; do
    echo "--- $test"
    if ! python3 "$here/$test" --starttls-port "$p1" --direct-port "$p2" \
        --ca data/cert.pem --alice alice@localhost:pw-alice --bob bob@localhost:pw-bob \
        ${INTEROP_DEBUG:+--debug}; then
        echo "--- server log"; cat server.log
        exit 1
    fi
done
