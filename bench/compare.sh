#!/usr/bin/env bash
# Two revisions of metrocal side by side in one run (bench/compare.py): Monte Carlo H.1 at
# 10^6 trials, issuing certificates, re-downloading a PDF, a batch of 1,000, and the
# register at 46,000 standards. For a change that must not slow the running app: a
# restructuring (compare the commit before it with the one after) or a build setting.
#
# Each revision is checked out into target/compare/REV and built in release there, with
# its own target folder (kept, so a second run builds nothing).
#
# Usage: bash bench/compare.sh REV_A REV_B [ROUNDS] [REQUESTS]
# Env:   PROFILE_OF=REV  build both with the [profile.*] tables of REV's Cargo.toml, so that
#                        two commits are compared under the same build settings.
#        SHARED_TARGET=1 both revisions build in one target folder (target/compare/shared),
#                        so that the dependencies they share compile once; each revision's
#                        binaries are copied to target/compare/REV/bin. Best with PROFILE_OF.
set -euo pipefail
cd "$(dirname "$0")/.."
a="$1"
b="$2"
rounds="${3:-5}"
requests="${4:-200}"
root="$(pwd)"
build() {
  local rev="$1" dir="target/compare/$1"
  if [ ! -d "$dir" ]; then
    git worktree add -q --detach "$dir" "$rev"
  fi
  if [ -n "${PROFILE_OF:-}" ]; then
    git show "$PROFILE_OF:Cargo.toml" > "$dir/.profile-source.toml"
    python3 - "$dir/Cargo.toml" "$dir/.profile-source.toml" <<'PY'
import re, sys
def split(text):
    # Top-level tables in order; the [profile...] ones are what is swapped.
    parts = re.split(r"(?m)^(?=\[)", text)
    return parts
own, source = open(sys.argv[1]).read(), open(sys.argv[2]).read()
kept = [p for p in split(own) if not p.startswith("[profile")]
profiles = [p for p in split(source) if p.startswith("[profile")]
open(sys.argv[1], "w").write("".join(kept).rstrip("\n") + "\n\n" + "".join(profiles))
PY
  fi
  if [ -n "${SHARED_TARGET:-}" ]; then
    local out="$root/target/compare/$rev/bin"
    (cd "$dir" && CARGO_TARGET_DIR="$root/target/compare/shared" \
      cargo build --release -q --bin metrocal --example uncertainty_bench --example certificates_bench)
    mkdir -p "$out/examples"
    cp "$root/target/compare/shared/release/metrocal" "$out/"
    cp "$root/target/compare/shared/release/examples/uncertainty_bench" \
      "$root/target/compare/shared/release/examples/certificates_bench" "$out/examples/"
  else
    (cd "$dir" && cargo build --release -q --bin metrocal --example uncertainty_bench --example certificates_bench)
  fi
}
outdir() {
  if [ -n "${SHARED_TARGET:-}" ]; then echo "$root/target/compare/$1/bin"; else echo "$root/target/compare/$1/target/release"; fi
}
build "$a"
build "$b"
python3 bench/compare.py "$(outdir "$a")" "$(outdir "$b")" "$rounds" "$requests"
