#!/usr/bin/env bash
# XEP-0077 in-band registration driven by slixmpp (interop/slixmpp_register.py) against the
# built chatrix-server. Starts two servers in turn, each on a free loopback port with a fresh
# data dir:
#   1. [registration] captcha = false, per_address = 10 (the test registers several
#      accounts from 127.0.0.1), on the given database: register, log in, change the
#      password, remove the account.
#   2. the default registration settings (CAPTCHA on), always on the embedded SQLite: fetch
#      the CAPTCHA form and check it, refuse a wrong answer. That server only stores a
#      refused registration, so a second PostgreSQL database would test nothing more, and
#      the script stays usable with a database URL it cannot clone.
# INTEROP_DEBUG=1 passes --debug (slixmpp's stanza log) and runs the servers at log level
# debug. The server log is printed when a step fails.
# Usage: interop/register.sh SERVER_BINARY [DATABASE_URL]
# (DATABASE_URL defaults to the embedded SQLite; a postgres:// URL must name an existing,
# empty database.)
set -euo pipefail
bin="$(realpath "$1")"
db_url="${2:-}"
here="$(cd "$(dirname "$0")" && pwd)"
work="$(mktemp -d)"
server_pid=""
stop_server() {
    if [ -n "$server_pid" ]; then
        kill "$server_pid" 2>/dev/null || true
        wait "$server_pid" 2>/dev/null || true
        server_pid=""
    fi
}
cleanup() {
    stop_server
    rm -rf "$work"
}
trap cleanup EXIT
log_level=info
[ -n "${INTEROP_DEBUG:-}" ] && log_level=debug

# run_case NAME DATABASE_URL REGISTRATION_TOML [slixmpp_register.py options...]
run_case() {
    local name="$1" url="$2" registration="$3"
    shift 3
    local dir="$work/$name" port
    mkdir -p "$dir"
    port="$(python3 -c '
import socket
s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
    {
        echo 'data_dir = "data"'
        echo "log_level = \"$log_level\""
        printf '[[listeners]]\nkind = "c2s-starttls"\naddress = "127.0.0.1"\nport = %s\n' "$port"
        if [ -n "$url" ]; then printf '[database]\nurl = "%s"\n' "$url"; fi
        if [ -n "$registration" ]; then printf '[registration]\n%s\n' "$registration"; fi
    } > "$dir/chatrix.toml"
    echo "--- slixmpp_register.py: $name (${url:-SQLite})"
    (cd "$dir" && exec "$bin" --config chatrix.toml > server.log 2>&1) &
    server_pid=$!
    local up=""
    for _ in $(seq 1 100); do
        if [ -s "$dir/data/cert.pem" ] && python3 -c "
import socket; socket.create_connection(('127.0.0.1', $port), 0.2)" 2>/dev/null; then
            up=1
            break
        fi
        kill -0 "$server_pid" 2>/dev/null || break
        sleep 0.1
    done
    if [ -z "$up" ]; then
        echo "FAILED: the server ($name) did not start listening on 127.0.0.1:$port"
        echo "--- server log ($name)"; cat "$dir/server.log"
        exit 1
    fi
    if ! (cd "$dir" && python3 "$here/slixmpp_register.py" --starttls-port "$port" \
        --ca data/cert.pem --domain localhost ${INTEROP_DEBUG:+--debug} "$@"); then
        echo "--- server log ($name)"; cat "$dir/server.log"
        exit 1
    fi
    stop_server
}

run_case open "$db_url" $'captcha = false\nper_address = 10'
run_case captcha "" "" --captcha
