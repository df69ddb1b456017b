#!/usr/bin/env bash
# End-to-end figures for the register at province scale (46,000 standards):
#   1. generate the data set, 2. import it into a fresh SQLite database (3 runs),
#   3. serve it and measure server time per request for the list, search, filters,
#      detail and dashboard, beside a trivial route as the same-run baseline.
# Usage: bash bench/register.sh [N_STANDARDS] [REQUESTS_PER_ENDPOINT]
# Set BENCH_DATABASE_URL=postgres://… to measure PostgreSQL instead of SQLite.
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-46000}"
reqs="${2:-300}"
work="$(mktemp -d)"
trap 'kill "${server:-0}" 2>/dev/null || true; rm -rf "$work"' EXIT

cargo build --release -q
bin=target/release/metrocal
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"

echo "== generate $n standards"
/usr/bin/time -f "generate: %e s wall, %M KiB max RSS" "$bin" generate --standards "$n" --seed 2026 --out "$work/data" > /dev/null

echo "== import (fresh database each run)"
for run in 1 2 3; do
  if [ -n "${BENCH_DATABASE_URL:-}" ]; then
    url="$BENCH_DATABASE_URL"
    psql "$url" -q -c "DROP SCHEMA public CASCADE; CREATE SCHEMA public;" 2>/dev/null
  else
    rm -f "$work"/bench.db*
    url="sqlite://$work/bench.db?mode=rwc"
  fi
  "$bin" --database-url "$url" migrate > /dev/null
  /usr/bin/time -f "import run $run: %e s wall, %M KiB max RSS" "$bin" --database-url "$url" import "$work/data"
done

echo "== serve and measure"
if [ -n "${BENCH_DATABASE_URL:-}" ]; then
  # Every instance on PostgreSQL is given its secrets (docs/operations.md).
  export ROCKET_SECRET_KEY="$(openssl rand -hex 32)" METROCAL_KEY_ENCRYPTION_KEY="$(openssl rand -hex 32)"
fi
port=8123
ROCKET_PORT=$port METROCAL_DEMO_DATA=false METROCAL_DATA_DIR="$work" RUST_LOG=warn \
  "$bin" --database-url "$url" serve > "$work/server.log" 2>&1 &
server=$!
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$port/static/style.css" > /dev/null && break; sleep 0.2; done
python3 bench/latency.py "http://127.0.0.1:$port" "$reqs"
