"""The same work as bench/uncertainty.rs, done by Python's `uncertainties` (the GUM
framework) and by numpy (Monte Carlo on GUM H.1, 10^6 trials), timed the same way:
median (min-max) of repeated runs, in ms, including building the inputs.
"""
import statistics
import sys
import time

import numpy as np
from uncertainties import ufloat


def timed(runs, f):
    f()
    ms = []
    for _ in range(runs):
        t = time.perf_counter()
        f()
        ms.append((time.perf_counter() - t) * 1000)
    ms.sort()
    return ms[len(ms) // 2], ms[0], ms[-1]


def gum(n, op):
    xs = [ufloat(1.0, 0.01) for _ in range(n)]
    y = xs[0]
    for x in xs[1:]:
        y = y + x if op == "sum" else y * x
    return y.std_dev


def h1_monte_carlo(m=1_000_000, seed=1):
    # GUM H.1, the inputs of calibration-data/uncertainty/gum-h1-end-gauge.json (SI units).
    rng = np.random.default_rng(seed)
    l_s = 50.000623e-3 + 25e-9 * rng.standard_normal(m)
    d0 = 215e-9 + 5.8e-9 * rng.standard_normal(m)
    d1 = 3.9e-9 * rng.standard_normal(m)
    d2 = 6.7e-9 * rng.standard_normal(m)
    a_s = rng.uniform(9.5e-6, 13.5e-6, m)
    theta = -0.1 + 0.41 * rng.standard_normal(m)
    da = rng.uniform(-1e-6, 1e-6, m)
    dt = rng.uniform(-0.05, 0.05, m)
    d = d0 + d1 + d2
    l = l_s + d - l_s * (da * theta + a_s * dt)
    mean, sd = l.mean(), l.std(ddof=1)
    y = np.sort(l)
    q = int(0.9545 * m + 0.5)
    r = int((m - q + 1) / 2)
    symmetric = (y[r - 1], y[r + q - 1])
    widths = y[q:] - y[: m - q]
    k = int(np.argmin(widths))
    shortest = (y[k], y[k + q])
    return mean, sd, symmetric, shortest


print("case\tmedian_ms\tmin_ms\tmax_ms")
for n in (10, 100, 1000):
    for op in ("sum", "product"):
        runs = 11 if n == 1000 else 51
        med, lo, hi = timed(runs, lambda: gum(n, op))
        print(f"gum {op} {n}\t{med:.4f}\t{lo:.4f}\t{hi:.4f}")
med, lo, hi = timed(11, h1_monte_carlo)
print(f"monte carlo H.1 1e6\t{med:.1f}\t{lo:.1f}\t{hi:.1f}")
sys.stdout.flush()
