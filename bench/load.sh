#!/usr/bin/env bash
# Province-scale load on loopback: the full generated data set (46,000 standards with
# their devices, the enterprises' instruments and three years of calibrations) on top of
# the demo data set, and a realistic mix driven with oha at rising concurrency:
#   enterprise users listing their certificates and downloading a PDF;
#   technicians correcting a reading of a draft record (a write, audited);
#   schedulers viewing their recall list;
#   the public verification page;
#   the register search.
# Each endpoint has its own oha process at the level's concurrency, all at once, so the
# figures are per endpoint and the throughput is their sum. Then the register search and
# a hello-world Rocket route (bench/hello.rs) alone at each level, for the ratio.
# The server's RSS is sampled every second.
#
# Usage: bash bench/load.sh                         (SQLite)
#        PG_URL=postgres://postgres@127.0.0.1:5432/mc_load bash bench/load.sh
# Env:   LEVELS="1 8 32 64"  MIX_SECONDS=150 (4 levels: ten minutes)  SOLO_SECONDS=10
#        MIX="list pdf record recall verify search" (a subset, to find which one costs)
# Needs: oha (cargo install oha), python3, sqlite3 or psql.
set -euo pipefail
cd "$(dirname "$0")/.."
command -v oha >/dev/null || { echo "bench/load.sh needs oha: cargo install oha" >&2; exit 1; }
LEVELS=${LEVELS:-"1 8 32 64"}
MIX_SECONDS=${MIX_SECONDS:-150}
SOLO_SECONDS=${SOLO_SECONDS:-10}
MIX=${MIX:-"list pdf record recall verify search"}
cargo build --release -q --bin metrocal --example hello
bin=target/release/metrocal
work=$(mktemp -d)
server=""
hello=""
cleanup() {
  [ -n "$server" ] && kill "$server" 2>/dev/null || true
  [ -n "$hello" ] && kill "$hello" 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT
if [ -n "${PG_URL:-}" ]; then
  engine=postgres
  export DATABASE_URL="$PG_URL"
  # Every instance on PostgreSQL is given its secrets (docs/operations.md).
  export ROCKET_SECRET_KEY="$(openssl rand -hex 32)" METROCAL_KEY_ENCRYPTION_KEY="$(openssl rand -hex 32)"
  sql() { psql "$PG_URL" -qtAX -v ON_ERROR_STOP=1 -c "$1"; }
else
  engine=sqlite
  export DATABASE_URL="sqlite://$work/metrocal.db?mode=rwc"
  sql() { sqlite3 "$work/metrocal.db" "$1"; }
fi
export METROCAL_DATA_DIR="$work/data" RUST_LOG=error
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
port=$(free_port)
start() {
  ROCKET_PORT=$port ROCKET_LOG_LEVEL=off "$bin" serve >"$work/server.log" 2>&1 &
  server=$!
  for _ in $(seq 1 600); do curl -sf "http://127.0.0.1:$port/" >/dev/null && return; sleep 0.2; done
  echo "the server did not start" >&2; cat "$work/server.log" >&2; exit 1
}
stop() { kill "$server"; wait "$server" 2>/dev/null || true; server=""; }

echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs); engine: $engine"
# 1. The demo data set (first start), then the province on top of it.
start; stop
"$bin" generate --standards 46000 --out "$work/set" >/dev/null
"$bin" import "$work/set" | tail -1
# Today's daily run (Asia/Shanghai), as the server would have made it at midnight.
"$bin" schedule run >/dev/null
add() { echo 'correct horse battery staple' | "$bin" user add --email "$1" --name "$1" --org "$2" --role "$3" --password-stdin >/dev/null; }
token() { "$bin" token create --email "$1" 2>/dev/null; }
add enterprise@load.example 91440100KMJQMXMD0D enterprise
add technician@load.example 1244010002E6HRCU7H technician
add scheduler@load.example 124400001JA7N1F563 scheduler
ent=$(token enterprise@load.example); tech=$(token technician@load.example); sched=$(token scheduler@load.example)
wo=$(sql "INSERT INTO work_orders (lab_id, item_kind, item_id, owner_id, category_code, label, due_on, planned_on, status, note, created_by, created_at, updated_at)
  SELECT c.id, 'instrument', i.id, i.owner_id, i.category_code, i.name, '2026-12-20', '2026-11-26', 'in_calibration', '', NULL, '2026-11-26T00:00:00Z', '2026-11-26T00:00:00Z'
  FROM instruments i, organisations c WHERE i.serial = 'SN00000033' AND c.code = '1244010002E6HRCU7H' ORDER BY i.id LIMIT 1 RETURNING id" | head -1)
standard=$(sql "SELECT id FROM standards WHERE cert_no = '[2026]粤社量标证字第000201号'")
number=$(sql "SELECT number FROM certificates c JOIN organisations o ON o.id = c.customer_id WHERE o.code = '91440100KMJQMXMD0D' AND c.status = 'issued' ORDER BY c.id LIMIT 1")
verify=$(sql "SELECT token FROM certificates WHERE number = '$number'")
start
record=$(curl -sf -X POST "http://127.0.0.1:$port/api/v1/work-orders/$wo/record" -H "Authorization: Bearer $tech" -H 'Content-Type: application/json' \
  -d "{\"kind\":\"calibration\",\"method\":\"JJG 34-2022\",\"decision_rule\":\"simple\",\"received_on\":\"2026-11-26\",\"calibrated_on\":\"2026-11-27\",\"temperature\":\"20.1 °C\",\"humidity\":\"50 %\",\"standards\":[$standard],\"points\":[{\"nominal\":\"10 mm\",\"reference\":\"10 mm\",\"readings\":\"10.0043\",\"u\":\"1.5 µm\"}]}" \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])')
hport=$(free_port)
ROCKET_PORT=$hport ROCKET_LOG_LEVEL=off target/release/examples/hello >/dev/null 2>&1 &
hello=$!
for _ in $(seq 1 100); do curl -sf "http://127.0.0.1:$hport/" >/dev/null && break; sleep 0.1; done
curl -sf "http://127.0.0.1:$hport/" >/dev/null || { echo "the hello-world baseline did not start" >&2; exit 1; }

base="http://127.0.0.1:$port"
run() { # name seconds concurrency oha-args...
  local name=$1 secs=$2 c=$3; shift 3
  oha --no-tui --output-format json -z "${secs}s" -c "$c" "$@" >"$work/$name.json" 2>/dev/null
}
# VmRSS, RssAnon (the heap) and RssFile (mapped pages of the SQLite file), kB.
rss() {
  while kill -0 "$server" 2>/dev/null; do
    awk '/^(VmRSS|RssAnon|RssFile):/ { printf "%s ", $2 } END { print "" }' "/proc/$server/status" >>"$work/rss.$1"
    sleep 1
  done
}
summary() { python3 - "$work" "$@" <<'PY'
import json, sys
work, level, *names = sys.argv[1:]
total = 0.0
for n in names:
    d = json.load(open(f"{work}/{n}.json"))
    s, p = d["summary"], d["latencyPercentiles"]
    codes = d.get("statusCodeDistribution", {})
    # oha counts the requests still in flight at the deadline as "aborted due to
    # deadline" (one per connection): not errors of the server.
    errs = {k: v for k, v in d.get("errorDistribution", {}).items() if k != "aborted due to deadline"}
    errors = sum(v for k, v in codes.items() if not k.startswith("2")) + sum(errs.values())
    total += s["requestsPerSec"]
    print(f"| {level} | {n} | {s['requestsPerSec']:.0f} | {p['p50']*1000:.1f} | {p['p99']*1000:.1f} | {errors} |")
print(f"| {level} | **all** | **{total:.0f}** | | | |")
PY
}
echo
echo "| concurrency | endpoint | req/s | p50 ms | p99 ms | errors |"
echo "|---|---|---|---|---|---|"
for c in $LEVELS; do
  rss "$c" &
  sampler=$!
  pids=()
  for e in $MIX; do
    case $e in
      list) run list "$MIX_SECONDS" "$c" -H "Authorization: Bearer $ent" "$base/api/v1/certificates?limit=20" & ;;
      pdf) run pdf "$MIX_SECONDS" "$c" -H "Authorization: Bearer $ent" "$base/api/v1/certificates/$number/pdf" & ;;
      record) run record "$MIX_SECONDS" "$c" -m POST -T application/json -H "Authorization: Bearer $tech" \
        -d '{"readings": "10.0043 10.0044", "reason": "load test"}' "$base/api/v1/records/$record/points/0/readings" & ;;
      recall) run recall "$MIX_SECONDS" "$c" -H "Authorization: Bearer $sched" "$base/api/v1/recall?side=lab" & ;;
      verify) run verify "$MIX_SECONDS" "$c" "$base/verify/$verify" & ;;
      search) run search "$MIX_SECONDS" "$c" "$base/api/v1/standards?q=%E5%8E%8B%E5%8A%9B" & ;;
      *) echo "unknown endpoint in MIX: $e" >&2; exit 1 ;;
    esac
    pids+=($!)
  done
  wait "${pids[@]}"
  kill "$sampler" 2>/dev/null || true
  summary "$c" $MIX
done
echo
echo "| concurrency | register search req/s | hello-world req/s | ratio | search p50 / p99 ms | new queries (code prefix) req/s | RSS max MB (heap, mapped) during the mix | non-2xx |"
echo "|---|---|---|---|---|---|---|---|"
for c in $LEVELS; do
  run solo_search "$SOLO_SECONDS" "$c" "$base/api/v1/standards?q=%E5%8E%8B%E5%8A%9B"
  run solo_hello "$SOLO_SECONDS" "$c" "http://127.0.0.1:$hport/"
  # Searches not asked before: a JJF 1022 code prefix (thousands of matches each), so
  # the search runs on nearly every request. oha's regex takes dots literally.
  run solo_cold "$SOLO_SECONDS" "$c" --rand-regex-url "http://127.0.0.1:$port/api/v1/standards\\?q=[0-6][0-9]{3}"
  python3 - "$work" "$c" <<'PY'
import json, sys
work, c = sys.argv[1:]
s = json.load(open(f"{work}/solo_search.json"))
h = json.load(open(f"{work}/solo_hello.json"))
cold = json.load(open(f"{work}/solo_cold.json"))
rows = [[int(x) for x in l.split()] for l in open(f"{work}/rss.{c}") if len(l.split()) == 3] or [[0, 0, 0]]
top = max(rows)
a, b = s["summary"]["requestsPerSec"], h["summary"]["requestsPerSec"]
p = s["latencyPercentiles"]
bad = sum(v for d in (s, h, cold) for k, v in d.get("statusCodeDistribution", {}).items() if not k.startswith("2"))
print(f"| {c} | {a:.0f} | {b:.0f} | {a / b:.2f} | {p['p50']*1000:.2f} / {p['p99']*1000:.2f} | {cold['summary']['requestsPerSec']:.0f} | {top[0]/1024:.0f} ({top[1]/1024:.0f}, {top[2]/1024:.0f}) | {bad} |")
PY
done
