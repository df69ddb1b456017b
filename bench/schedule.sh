#!/usr/bin/env bash
# Schedules at province scale: generate the full data set, import it into a fresh
# SQLite database (or the PostgreSQL database given as PG_URL), then time the daily run
# and the largest laboratory's recall list (bench/schedule.rs).
# Usage: bash bench/schedule.sh [STANDARDS]   (default 46000)
set -euo pipefail
cd "$(dirname "$0")/.."
n="${1:-46000}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cargo build --release -q --bin metrocal --example schedule_bench
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
target/release/metrocal generate --standards "$n" --out "$work/data"
url="${PG_URL:-sqlite://$work/metrocal.db?mode=rwc}"
export METROCAL_DATA_DIR="$work/app" METROCAL_DEMO_DATA=false
DATABASE_URL="$url" target/release/metrocal import "$work/data"
DATABASE_URL="$url" target/release/examples/schedule_bench
