#!/usr/bin/env bash
# The uncertainty engine beside its peers, on this machine, in the same run:
# Python's `uncertainties` for the GUM framework and numpy for Monte Carlo, installed
# into a throwaway virtual environment (they are peers to measure against, not
# dependencies of metrocal).
#
# These machines are noisy (other tenants take the cores for seconds at a time), so the
# two sides run in turns, ROUNDS times, and each round gives a ratio peer/metrocal of
# the medians measured a moment apart; the summary is the median ratio and its range.
# Usage: bash bench/uncertainty.sh [ROUNDS]   (default 7)
set -euo pipefail
cd "$(dirname "$0")/.."
rounds="${1:-7}"
venv="$(mktemp -d)"
out="$(mktemp -d)"
trap 'rm -rf "$venv" "$out"' EXIT
python3 -m venv "$venv"
"$venv/bin/pip" install -q uncertainties numpy
cargo build --release -q --example uncertainty_bench
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)"
echo "python: $("$venv/bin/python" -c 'import uncertainties, numpy, sys; print(sys.version.split()[0], "uncertainties", uncertainties.__version__, "numpy", numpy.__version__)')"
for r in $(seq "$rounds"); do
  target/release/examples/uncertainty_bench > "$out/metrocal.$r"
  "$venv/bin/python" bench/uncertainty_peers.py > "$out/peer.$r"
done
python3 - "$out" "$rounds" <<'PY'
import statistics, sys
out, rounds = sys.argv[1], int(sys.argv[2])
def read(path):
    rows = {}
    for line in open(path).read().splitlines()[1:]:
        case, med, lo, hi = line.split("\t")
        rows[case] = float(med)
    return rows
ours = [read(f"{out}/metrocal.{r}") for r in range(1, rounds + 1)]
peer = [read(f"{out}/peer.{r}") for r in range(1, rounds + 1)]
print(f"{rounds} rounds; per case: metrocal median ms (range over rounds) | peer | ratio peer/metrocal median (range)")
for case in ours[0]:
    a = [o[case] for o in ours]
    b = [p[case] for p in peer]
    ratios = [y / x for x, y in zip(a, b)]
    print(f"{case:22s} {statistics.median(a):9.4f} ({min(a):.4f}-{max(a):.4f}) | "
          f"{statistics.median(b):9.4f} ({min(b):.4f}-{max(b):.4f}) | "
          f"{statistics.median(ratios):5.1f}x ({min(ratios):.1f}-{max(ratios):.1f})")
PY
