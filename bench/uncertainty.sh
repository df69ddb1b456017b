#!/usr/bin/env bash
# The uncertainty engine beside its peers, on this machine, in the same run:
# Python's `uncertainties` for the GUM framework and numpy for Monte Carlo, installed
# into a throwaway virtual environment (they are peers to measure against, not
# dependencies of metrocal).
# Usage: bash bench/uncertainty.sh
set -euo pipefail
cd "$(dirname "$0")/.."
venv="$(mktemp -d)"
trap 'rm -rf "$venv"' EXIT
python3 -m venv "$venv"
"$venv/bin/pip" install -q uncertainties numpy
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "python: $("$venv/bin/python" -c 'import uncertainties, numpy, sys; print(sys.version.split()[0], "uncertainties", uncertainties.__version__, "numpy", numpy.__version__)')"
echo "== metrocal (release)"
cargo run --release -q --example uncertainty_bench
echo "== Python peers"
"$venv/bin/python" bench/uncertainty_peers.py
