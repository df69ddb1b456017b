"""Server time (Server-Timing) of the same request anonymous and authenticated,
interleaved A/B on one keep-alive connection.

Usage: python3 bench/auth_latency.py BASE_URL PAIRS TOKEN EMAIL PASSWORD
"""
import http.client
import re
import statistics
import sys
import urllib.parse

base = urllib.parse.urlparse(sys.argv[1])
pairs, token, email, password = int(sys.argv[2]), sys.argv[3], sys.argv[4], sys.argv[5]
conn = http.client.HTTPConnection(base.hostname, base.port, timeout=30)


def fetch(path, headers=None, method="GET", body=None):
    conn.request(method, path, body=body, headers=headers or {})
    res = conn.getresponse()
    data = res.read()
    timing = res.getheader("Server-Timing") or ""
    server = float(timing.split("dur=")[1]) if "dur=" in timing else float("nan")
    return res, server, data


def cookie(res, name):
    for k, v in res.getheaders():
        if k.lower() == "set-cookie" and v.startswith(name + "="):
            return v.split(";")[0]
    return None


# Log in once, as a browser does (this is where argon2id runs; not measured).
res, _, html = fetch("/login")
csrf_cookie = cookie(res, "csrf")
csrf = re.search(rb'name="csrf" value="([0-9a-f]+)"', html).group(1).decode()
form = urllib.parse.urlencode({"csrf": csrf, "email": email, "password": password, "next": "/"})
res, _, _ = fetch("/login", {"Cookie": csrf_cookie, "Content-Type": "application/x-www-form-urlencoded"}, "POST", form)
session = cookie(res, "session")
assert res.status == 303 and session, (res.status, session)

CASES = [
    ("api list city+sort", "/api/v1/standards?city=440100&sort=-cert_expires_on",
     {}, {"Authorization": "Bearer " + token}),
    ("page list city+sort", "/standards?city=440100&sort=-cert_expires_on",
     {}, {"Cookie": session}),
    ("api detail", "/api/v1/standards/23000", {}, {"Authorization": "Bearer " + token}),
]

print(f"{'request':22} {'pairs':>5} {'anon p50':>9} {'auth p50':>9} {'Δ p50 ms':>9} "
      f"{'anon p90':>9} {'auth p90':>9} {'Δ median of pair diffs':>23}")
for name, path, anon_h, auth_h in CASES:
    for _ in range(20):
        fetch(path, anon_h), fetch(path, auth_h)
    anon, auth, diffs = [], [], []
    for i in range(pairs):
        # Alternate which goes first, so neither always follows the other.
        order = [(anon, anon_h), (auth, auth_h)] if i % 2 == 0 else [(auth, auth_h), (anon, anon_h)]
        got = {}
        for xs, h in order:
            res, s, _ = fetch(path, h)
            if res.status != 200:
                raise SystemExit(f"{path}: HTTP {res.status}")
            xs.append(s)
            got[id(xs)] = s
        diffs.append(got[id(auth)] - got[id(anon)])
    q = lambda xs, p: sorted(xs)[int(p * (len(xs) - 1))]
    a50, b50 = statistics.median(anon), statistics.median(auth)
    print(f"{name:22} {pairs:>5} {a50:>9.3f} {b50:>9.3f} {b50 - a50:>9.3f} "
          f"{q(anon, .9):>9.3f} {q(auth, .9):>9.3f} {statistics.median(diffs):>23.3f}")
