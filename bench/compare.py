"""Two builds of metrocal side by side, in one run, on the figures a change must not slow:
Monte Carlo for GUM H.1 at 10^6 trials, issuing a certificate (number, snapshot, PDF, DCC,
signature, audit), re-downloading its PDF, a batch of 1,000 certificates, and the
register's list, search, dashboard and pages at 46,000 standards.

These machines are noisy, so the two builds take turns (A then B, then B then A, ...) and
each figure is given as the median over the rounds with its range, and as the ratio B/A
of the medians measured a moment apart.

Usage: python3 bench/compare.py A_DIR B_DIR [ROUNDS] [REQUESTS]
  A_DIR, B_DIR: release output folders (the target/release of two checkouts, or of two
  build profiles), each with `metrocal` and `examples/uncertainty_bench` and
  `examples/certificates_bench`. bench/compare.sh builds them.
"""
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request

a_dir, b_dir = sys.argv[1], sys.argv[2]
rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 5
requests = sys.argv[4] if len(sys.argv) > 4 else "200"
here = os.path.dirname(os.path.abspath(__file__))
work = tempfile.mkdtemp(prefix="metrocal-compare-")
builds = {"A": a_dir, "B": b_dir}
figures = {"A": {}, "B": {}}
failures = {"A": [], "B": []}
servers = []


def note(build, case, value):
    figures[build].setdefault(case, []).append(value)


def tab_rows(text):
    """The `case<TAB>median_ms<TAB>…` lines the benchmark examples print."""
    rows = {}
    for line in text.splitlines()[1:]:
        parts = line.split("\t")
        if len(parts) >= 2:
            rows[parts[0]] = float(parts[1])
    return rows


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def monte_carlo(build):
    out = subprocess.run([f"{builds[build]}/examples/uncertainty_bench", "mc"], check=True,
                         capture_output=True, text=True).stdout
    for case, ms in tab_rows(out).items():
        note(build, case, ms)


def certificates(build, r):
    d = f"{work}/cert-{build}-{r}"
    os.makedirs(d)
    env = dict(os.environ, DATABASE_URL=f"sqlite://{d}/metrocal.db?mode=rwc", KEYS_DIR=f"{d}/data")
    run = subprocess.run([f"{builds[build]}/examples/certificates_bench"], capture_output=True, text=True, env=env)
    # What it printed before a failure still counts; the failure is counted and shown.
    for case, ms in tab_rows(run.stdout).items():
        note(build, case.split(" (")[0], ms)
    if run.returncode != 0:
        failures[build].append(run.stderr.strip().splitlines()[-2:] if run.stderr.strip() else ["no output"])
    shutil.rmtree(d)


def serve(build, data):
    """Imports the generated province into a fresh database and starts a server on it."""
    d = f"{work}/serve-{build}"
    os.makedirs(d)
    url = f"sqlite://{d}/bench.db?mode=rwc"
    binary = f"{builds[build]}/metrocal"
    subprocess.run([binary, "--database-url", url, "migrate"], check=True, capture_output=True)
    t = time.perf_counter()
    subprocess.run([binary, "--database-url", url, "import", data], check=True, capture_output=True)
    note(build, "import 46,000 standards (s)", time.perf_counter() - t)
    port = free_port()
    env = dict(os.environ, ROCKET_PORT=str(port), METROCAL_DEMO_DATA="false", METROCAL_DATA_DIR=d,
               RUST_LOG="warn")
    log = open(f"{d}/server.log", "w")
    servers.append(subprocess.Popen([binary, "--database-url", url, "serve"], env=env, stdout=log, stderr=log))
    for _ in range(100):
        try:
            urllib.request.urlopen(f"http://127.0.0.1:{port}/static/style.css", timeout=1)
            return port
        except OSError:
            time.sleep(0.2)
    raise SystemExit(f"build {build}: the server did not start; see {d}/server.log")


def register(build, port):
    out = subprocess.run([sys.executable, f"{here}/latency.py", f"http://127.0.0.1:{port}", requests],
                         check=True, capture_output=True, text=True).stdout
    for line in out.splitlines()[1:]:
        # endpoint (up to 30 characters), n, server p50, server p99, ...
        name, rest = line[:30].strip(), line[30:].split()
        note(build, f"{name} (server p50 ms)", float(rest[1]))


try:
    machine = subprocess.run("grep -m1 'model name' /proc/cpuinfo | cut -d: -f2", shell=True,
                             capture_output=True, text=True).stdout.strip()
    print(f"machine: {os.cpu_count()} cores, {machine}; {rounds} rounds; A = {a_dir}, B = {b_dir}")
    data = f"{work}/data"
    subprocess.run([f"{a_dir}/metrocal", "generate", "--standards", "46000", "--seed", "2026", "--out", data],
                   check=True, capture_output=True)
    ports = {b: serve(b, data) for b in ("A", "B")}
    for r in range(rounds):
        order = ("A", "B") if r % 2 == 0 else ("B", "A")
        for b in order:
            monte_carlo(b)
        for b in order:
            certificates(b, r)
        for b in order:
            register(b, ports[b])
        print(f"round {r + 1} of {rounds} done", file=sys.stderr)
    print(f"{'figure':52} {'A median (range)':>24} {'B median (range)':>24} {'B/A':>6}")
    for case in figures["A"]:
        a, b = figures["A"][case], figures["B"].get(case, [])
        if not b:
            continue
        ma, mb = statistics.median(a), statistics.median(b)
        print(f"{case[:52]:52} {ma:>10.3f} ({min(a):.3f}-{max(a):.3f}) {mb:>10.3f} ({min(b):.3f}-{max(b):.3f}) "
              f"{mb / ma:>6.2f}   n={len(a)},{len(b)}")
    for b in ("A", "B"):
        for f in failures[b]:
            print(f"{b}: certificates_bench failed: {' / '.join(f)}")
finally:
    for s in servers:
        s.terminate()
    shutil.rmtree(work, ignore_errors=True)
