"""The register list's latency without and with CLIENTS clients sending the costliest
uncertainty evaluation the server's limits allow (bench/limits.sh)."""
import http.client
import json
import random
import statistics
import sys
import threading
import time
from urllib.parse import urlparse

base, token, seconds, clients = sys.argv[1], sys.argv[2], float(sys.argv[3]), int(sys.argv[4])
host = urlparse(base)

# The costliest the limits allow: 2·10⁶ trials of a model of 998 operations and 2 inputs
# (work 2·10⁶ × 1,000 = 2·10⁹, the limit; memory 16 MB of outputs and a 65 MB tape).
model = "y = x" + " + z" * 499
problem = json.dumps({
    "measurands": [{"name": "y", "unit": "mm"}],
    "model": model,
    "inputs": [
        {"name": "x", "value": 1.0, "unit": "mm", "uncertainty": {"kind": "normal", "u": 0.001}},
        {"name": "z", "value": 0.0, "unit": "mm", "uncertainty": {"kind": "rectangular", "half_width": 0.001}},
    ],
    "monte_carlo": {"trials": 2_000_000, "seed": 1},
})


def connection():
    return http.client.HTTPConnection(host.hostname, host.port, timeout=120)


def list_latencies(stop_at):
    """The register list over 46,000 standards, a page of 10 to 200 of them at a time
    (44,000 combinations, so that most answers are not already in the server's page
    cache), one request at a time: milliseconds as the client sees them."""
    c = connection()
    out = []
    while time.time() < stop_at:
        per_page = random.randint(10, 200)
        page = random.randint(1, 46_000 // 200)
        t = time.perf_counter()
        c.request("GET", f"/api/v1/standards?page={page}&per_page={per_page}")
        r = c.getresponse()
        r.read()
        out.append((time.perf_counter() - t) * 1000)
        assert r.status == 200, r.status
    return out


def evaluator(stop_at, counts, lock):
    c = connection()
    while time.time() < stop_at:
        c.request("POST", "/api/v1/uncertainty/evaluate", body=problem,
                  headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
        r = c.getresponse()
        body = r.read()
        with lock:
            counts[r.status] = counts.get(r.status, 0) + 1
        if r.status == 503:
            time.sleep(float(r.getheader("Retry-After", "1")) / 10)
        elif r.status != 200:
            print("evaluation:", r.status, body[:300], file=sys.stderr)


def summary(name, xs):
    xs = sorted(xs)
    q = statistics.quantiles(xs, n=100)
    print(f"| {name} | {len(xs)} | {statistics.median(xs):.2f} | {q[94]:.2f} | {q[98]:.2f} | {xs[-1]:.1f} |")
    return statistics.median(xs), q[98]


# Warm the connection and the process. The loaded run goes first, so that whatever
# the page cache keeps from it favours the run without load (the ratio is conservative).
list_latencies(time.time() + 3)
counts, lock = {}, threading.Lock()
stop_at = time.time() + seconds
threads = [threading.Thread(target=evaluator, args=(stop_at, counts, lock)) for _ in range(clients)]
for t in threads:
    t.start()
time.sleep(1)  # the first evaluation is running
loaded = list_latencies(stop_at)
for t in threads:
    t.join()
time.sleep(2)
quiet = list_latencies(time.time() + seconds)
print("| register list | requests | p50 ms | p95 ms | p99 ms | max ms |")
print("|---|---|---|---|---|---|")
l50, l99 = summary(f"with {clients} clients evaluating", loaded)
q50, q99 = summary("alone", quiet)
print(f"\np99 with / without: {l99 / q99:.2f} (goal ≤ 2); p50: {l50 / q50:.2f}")
print(f"evaluations answered: {dict(sorted(counts.items()))}")
