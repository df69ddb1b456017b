#!/usr/bin/env bash
# Issuing certificates: one at a time, re-downloading a PDF, and a batch of 1,000, against
# a fresh SQLite database (or the PostgreSQL database given as PG_URL), through the
# service layer (bench/certificates.rs).
# Usage: bash bench/certificates.sh
set -euo pipefail
cd "$(dirname "$0")/.."
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
cargo build --release -q --example certificates_bench
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
DATABASE_URL="${PG_URL:-sqlite://$work/metrocal.db?mode=rwc}" KEYS_DIR="$work/data" target/release/examples/certificates_bench
