"""Server time per request (the Server-Timing header metrocal sets) over keep-alive
HTTP, for each endpoint of the register, with the client's round trip beside it.

Usage: python3 bench/latency.py BASE_URL REQUESTS_PER_ENDPOINT
"""
import http.client
import statistics
import sys
import time
import urllib.parse

base = urllib.parse.urlparse(sys.argv[1])
n = int(sys.argv[2])

ENDPOINTS = [
    ("baseline: static css", "/static/style.css"),
    ("api list, page 1", "/api/v1/standards"),
    ("api list, page 400", "/api/v1/standards?page=400"),
    ("api filter city+status", "/api/v1/standards?city=440300&status=in_service"),
    ("api filter category+level", "/api/v1/standards?category=12&level=city_public&sort=-cert_expires_on"),
    ("api expiring 90 d", "/api/v1/standards?expiring_within_days=90&sort=cert_expires_on"),
    ("api search 3+ chars", "/api/v1/standards?q=" + urllib.parse.quote("压力表")),
    ("api search 2 chars", "/api/v1/standards?q=" + urllib.parse.quote("砝码")),
    ("api search cert no", "/api/v1/standards?q=012345"),
    ("api owner filter", None),  # filled in from the first page
    ("api detail", "/api/v1/standards/23000"),
    ("api dashboard", "/api/v1/dashboard"),
    ("page dashboard", "/"),
    ("page list", "/standards?city=440100&sort=-cert_expires_on"),
    ("page detail", "/standards/23000"),
]


def fetch(conn, path):
    t0 = time.perf_counter()
    conn.request("GET", path)
    res = conn.getresponse()
    body = res.read()
    rtt = (time.perf_counter() - t0) * 1000
    timing = res.getheader("Server-Timing") or ""
    server = float(timing.split("dur=")[1]) if "dur=" in timing else float("nan")
    return res.status, server, rtt, body


def pct(xs, p):
    xs = sorted(xs)
    return xs[min(len(xs) - 1, int(round(p / 100 * (len(xs) - 1))))]


conn = http.client.HTTPConnection(base.hostname, base.port, timeout=30)
import json

_, _, _, first = fetch(conn, "/api/v1/standards?per_page=1")
owner = json.loads(first)["items"][0]["owner"]["code"]
rows = []
print(f"{'endpoint':30} {'n':>4} {'srv p50 ms':>10} {'srv p99 ms':>10} {'srv max':>8} {'rtt p50':>8} {'x base':>7}")
base_p50 = None
for name, path in ENDPOINTS:
    if path is None:
        path = f"/api/v1/standards?owner={owner}"
    for _ in range(5):  # warm-up
        fetch(conn, path)
    srv, rtt = [], []
    for _ in range(n):
        status, s, r, _ = fetch(conn, path)
        if status != 200:
            raise SystemExit(f"{path}: HTTP {status}")
        srv.append(s)
        rtt.append(r)
    p50 = statistics.median(srv)
    if base_p50 is None:
        base_p50 = p50
    print(f"{name:30} {n:>4} {p50:>10.3f} {pct(srv, 99):>10.3f} {max(srv):>8.2f} {statistics.median(rtt):>8.3f} {p50 / base_p50:>7.1f}")
