#!/usr/bin/env bash
# What authentication costs per request, at province scale (46,000 standards):
# the same list request anonymously and logged in (API bearer token; page session
# cookie), interleaved on one keep-alive connection so both see the same machine.
# Login (argon2id) happens once, before measuring.
# Usage: bash bench/auth.sh [N_STANDARDS] [PAIRS]
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-46000}"
pairs="${2:-1000}"
work="$(mktemp -d)"
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

cargo build --release -q
bin=target/release/metrocal
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
url="${BENCH_DATABASE_URL:-sqlite://$work/bench.db?mode=rwc}"
if [ -n "${BENCH_DATABASE_URL:-}" ]; then
  psql "$url" -q -c "DROP SCHEMA public CASCADE; CREATE SCHEMA public;" 2>/dev/null
  # Every instance on PostgreSQL is given its secrets (docs/operations.md).
  export ROCKET_SECRET_KEY="$(openssl rand -hex 32)" METROCAL_KEY_ENCRYPTION_KEY="$(openssl rand -hex 32)"
fi
"$bin" generate --standards "$n" --seed 2026 --out "$work/data" > /dev/null
"$bin" --database-url "$url" import "$work/data" > /dev/null
org=$(sed -n 2p "$work/data/organisations.csv" | cut -d, -f1)
echo "bench passphrase 2026" | "$bin" --database-url "$url" user add --email bench@bench.example \
  --name Bench --org "$org" --role institute_admin --password-stdin > /dev/null
token=$("$bin" --database-url "$url" token create --email bench@bench.example --name bench 2>/dev/null)

port=8124
ROCKET_PORT=$port METROCAL_DEMO_DATA=false METROCAL_DATA_DIR="$work" RUST_LOG=warn \
  "$bin" --database-url "$url" serve > "$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$port/static/style.css" > /dev/null && break; sleep 0.2; done
python3 bench/auth_latency.py "http://127.0.0.1:$port" "$pairs" "$token" bench@bench.example "bench passphrase 2026"
