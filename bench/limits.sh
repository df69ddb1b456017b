#!/usr/bin/env bash
# The register list while the costliest uncertainty evaluation the limits allow is sent
# by 4 clients at once (docs/security.md, "Limits"): the list's p50 and p99 without that
# load and with it, in one run on one server, and what the evaluation clients got
# (200 within the limits, 503 Busy when the queue is full).
#
# Usage: bash bench/limits.sh            (SQLite, the province data set of 46,000)
# Env:   SECONDS_EACH=60  CLIENTS=4  STANDARDS=46000
# Needs: python3, curl.
set -euo pipefail
cd "$(dirname "$0")/.."
SECONDS_EACH=${SECONDS_EACH:-60}
CLIENTS=${CLIENTS:-4}
STANDARDS=${STANDARDS:-46000}
cargo build --release -q --bin metrocal
bin=target/release/metrocal
work=$(mktemp -d)
server=""
trap '[ -n "$server" ] && kill "$server" 2>/dev/null; rm -rf "$work"' EXIT
export DATABASE_URL="sqlite://$work/metrocal.db?mode=rwc" METROCAL_DATA_DIR="$work/data" RUST_LOG=error
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
"$bin" migrate >/dev/null
"$bin" generate --standards "$STANDARDS" --out "$work/set" >/dev/null
"$bin" import "$work/set" | tail -1
echo 'correct horse battery staple' | "$bin" user add --email tech@limits.example --name tech \
  --org 1244010002E6HRCU7H --role technician --password-stdin >/dev/null
token=$("$bin" token create --email tech@limits.example 2>/dev/null)
ROCKET_PORT=$port ROCKET_LOG_LEVEL=off "$bin" serve >"$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$port/static/style.css" >/dev/null && break; sleep 0.2; done
python3 bench/limits.py "http://127.0.0.1:$port" "$token" "$SECONDS_EACH" "$CLIENTS"
