#!/usr/bin/env bash
# End-to-end tests in headless Chromium: starts metrocal on a fresh SQLite database with
# the demo data set, adds the journeys' users, opens a work order in calibration at the
# centre, and runs tests/e2e/journeys.js. Screenshots land in target/e2e/.
# Needs: chromium (Debian), node, and playwright-core (npm, installed here into
# target/e2e/node_modules).
set -euo pipefail
cd "$(dirname "$0")/../.."
out=target/e2e
rm -rf "$out" && mkdir -p "$out"
(cd "$out" && npm init -y >/dev/null && npm install --silent --no-audit --no-fund playwright-core@1 >/dev/null)
cargo build --quiet
bin=target/debug/metrocal
data=$(mktemp -d)
export DATABASE_URL="sqlite://$data/metrocal.db?mode=rwc" METROCAL_DATA_DIR="$data" RUST_LOG=warn
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
ROCKET_PORT=$port METROCAL_PUBLIC_URL="http://127.0.0.1:$port" "$bin" serve >"$out/server.log" 2>&1 &
server=$!
trap 'kill $server 2>/dev/null || true; rm -rf "$data"' EXIT
for _ in $(seq 1 120); do curl -sf "http://127.0.0.1:$port/" >/dev/null && break; sleep 0.5; done
add() { echo 'correct horse battery staple' | "$bin" user add --email "$1" --name "$2" --org "$3" --role "$4" --password-stdin >/dev/null; }
add scheduler@e2e.example 'E2E 排程员' 124400001JA7N1F563 scheduler
add technician@e2e.example 'E2E 检定员' 1244010002E6HRCU7H technician
add reviewer@e2e.example 'E2E 核验员' 1244010002E6HRCU7H reviewer
add approver@e2e.example 'E2E 批准人' 1244010002E6HRCU7H approver
add enterprise@e2e.example 'E2E 企业用户' 91440100KMJQMXMD0D enterprise
db="$data/metrocal.db"
standard=$(sqlite3 "$db" "SELECT id FROM standards WHERE cert_no = '[2026]粤社量标证字第000201号'")
wo=$(sqlite3 "$db" "INSERT INTO work_orders (lab_id, item_kind, item_id, owner_id, category_code, label, due_on, planned_on, status, note, created_by, created_at, updated_at)
  SELECT c.id, 'instrument', i.id, i.owner_id, i.category_code, i.name || ' ' || i.serial, '2026-12-20', '2026-11-26', 'in_calibration', '', NULL, '2026-11-26T00:00:00Z', '2026-11-26T00:00:00Z'
  FROM instruments i, organisations c WHERE i.serial = 'SN00000033' AND c.code = '1244010002E6HRCU7H' RETURNING id")
E2E_OUT="$out" NODE_PATH="$out/node_modules" node tests/e2e/journeys.js "http://127.0.0.1:$port" "$wo" "$standard"
