"""Time CLV fit + predict: huitouke.analytics.clv against lifetimes, side by side.

    python bench/clv.py [--customers 1000000] [--repeat 3]

Datasets: the CDNOW sample shipped inside the lifetimes package (calibration through
1997-09-30, weeks), then synthetic customers drawn from a BG/NBD + Gamma-Gamma process with
the CDNOW parameters (seeded) at 100k and --customers, with times in whole days (what
rfm_summary produces from order dates) and, at --customers, in continuous time too. Both sides do the same work: fit
BG/NBD, fit Gamma-Gamma on repeat customers, then P(alive), expected orders in 90 days,
expected order value and 12-month CLV at 1% a month (lifetimes' "W" month of 4.345 weeks).
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable
from functools import partial
from typing import Any

import numpy as np
import pandas as pd

from huitouke.analytics import clv

TARGET = 20.0  # lifetimes / ours at --customers, days and continuous (issue 22)
TOLERANCE = 1e-4  # largest relative difference of any prediction from lifetimes'
WEEKS_90D = 90 / 7
LIFETIMES_MONTH_WEEKS = 4.345  # lifetimes' month when freq="W"
BG = clv.BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)  # paper, CDNOW
GG = clv.GammaGammaParams(p=6.25, q=3.74, gamma=15.44)  # lifetimes' fit on CDNOW


def cdnow_summary() -> tuple[clv.Summary, float, float]:
    """The CDNOW calibration summary; also times ours vs lifetimes building it."""
    import lifetimes
    from lifetimes.utils import summary_data_from_transaction_data

    path = os.path.join(os.path.dirname(lifetimes.__file__), "datasets", "CDNOW_sample.txt")
    raw = np.loadtxt(path, dtype=str)
    ids = raw[:, 0].astype(np.int64)
    dates = np.array([f"{d[:4]}-{d[4:6]}-{d[6:]}" for d in raw[:, 2]], dtype="datetime64[D]")
    amounts = raw[:, 4].astype(np.float64)
    ours_s, summary = best_of(3, lambda: clv.rfm_summary(ids, dates, amounts, "1997-09-30"))
    frame = pd.DataFrame({"id": ids, "date": dates.astype("datetime64[ns]"), "amount": amounts})
    cal = frame[frame["date"] <= "1997-09-30"]
    theirs_s, _ = best_of(
        3,
        lambda: summary_data_from_transaction_data(
            cal, "id", "date", monetary_value_col="amount", observation_period_end="1997-09-30"
        ),
    )
    return summary, ours_s, theirs_s


def simulate(n: int, *, whole_days: bool, seed: int = 20240601) -> clv.Summary:
    """Customers from the BG/NBD and Gamma-Gamma processes, drawn without a per-customer loop."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(BG.r, 1 / BG.alpha, n)
    drop = rng.beta(BG.a, BG.b, n)
    T = rng.uniform(1.0, 78.0, n)  # acquired at random over 18 months
    # Purchases come at Poisson rate lam; after each one she leaves with probability drop,
    # so she makes a Geometric(drop) number of them at most: x = min(N(T), J).
    n_events = rng.poisson(lam * T)
    x = np.minimum(n_events, rng.geometric(drop))
    # Given N(T) events, the x-th arrival is the x-th of N uniform order statistics on (0, T].
    rep = x > 0
    t_x = np.zeros(n)
    t_x[rep] = T[rep] * rng.beta(x[rep], n_events[rep] - x[rep] + 1)
    nu = rng.gamma(GG.q, 1 / GG.gamma, n)  # per-customer spend rate
    monetary = np.zeros(n)
    monetary[rep] = rng.gamma(GG.p * x[rep], 1 / nu[rep]) / x[rep]
    if whole_days:  # as rfm_summary builds them from order dates
        t_x, T = np.floor(t_x * 7) / 7, np.floor(T * 7) / 7
    return clv.Summary(np.arange(n), x.astype(np.int64), t_x, T, monetary)


def run_ours(s: clv.Summary) -> dict[str, np.ndarray]:
    """Fit + predict with huitouke."""
    res = clv.fit_clv(s, days_per_month=LIFETIMES_MONTH_WEEKS * 7)
    return {
        "p_alive": res.p_alive,
        "orders_90d": res.expected_orders_90d,
        "aov": res.expected_aov,
        "clv": res.predicted_clv,
    }


def run_lifetimes(s: clv.Summary) -> dict[str, np.ndarray]:
    """Fit + predict with lifetimes' BetaGeoFitter and GammaGammaFitter."""
    from lifetimes import BetaGeoFitter, GammaGammaFitter

    x, t_x, T, m = (pd.Series(v) for v in (s.x, s.t_x, s.T, s.monetary))
    bg = BetaGeoFitter().fit(x, t_x, T)
    alive = bg.conditional_probability_alive(x, t_x, T)
    orders = bg.conditional_expected_number_of_purchases_up_to_time(WEEKS_90D, x, t_x, T)
    rep = x > 0
    gg = GammaGammaFitter().fit(x[rep], m[rep])
    aov = gg.conditional_expected_average_profit(x, m)
    value = gg.customer_lifetime_value(bg, x, t_x, T, m, time=12, discount_rate=0.01, freq="W")
    return {
        "p_alive": np.asarray(alive, dtype=float),
        "orders_90d": np.asarray(orders, dtype=float),
        "aov": np.asarray(aov, dtype=float),
        "clv": np.asarray(value, dtype=float),
    }


def max_rel_diff(ours: dict[str, np.ndarray], theirs: dict[str, np.ndarray]) -> float:
    """The largest relative difference of any prediction (p_alive, orders, AOV, CLV)."""
    worst = 0.0
    for key, mine in ours.items():
        ref = theirs[key]
        scale = np.maximum(np.abs(ref), 1e-12)
        worst = max(worst, float(np.max(np.abs(mine - ref) / scale)))
    return worst


def best_of(repeat: int, fn: Callable[[], Any]) -> tuple[float, Any]:
    """Fastest wall time of `repeat` runs, and the last result."""
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - start)
    return best, out


def main() -> None:
    """Print the comparison table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--customers", type=int, default=1_000_000)
    parser.add_argument("--repeat", type=int, default=3, help="runs of ours (best is kept)")
    args = parser.parse_args()

    import lifetimes
    import scipy

    print(
        f"python {platform.python_version()}, numpy {np.__version__}, scipy {scipy.__version__},"
        f" pandas {pd.__version__}, lifetimes {lifetimes.__version__}, {os.cpu_count()} CPUs"
    )
    summary, ours_sum, theirs_sum = cdnow_summary()
    print(
        f"CDNOW summary from 6,919 transactions: ours {ours_sum:.4f} s, "
        f"lifetimes {theirs_sum:.4f} s, ratio {theirs_sum / ours_sum:.1f}x"
    )
    sets = [("CDNOW sample", summary)]
    for n in sorted({min(100_000, args.customers), args.customers}):
        sets.append(("synthetic, days", simulate(n, whole_days=True)))
    sets.append(("synthetic, continuous", simulate(args.customers, whole_days=False)))

    print(f"load average: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    header = f"{'dataset':<22} {'customers':>10} {'ours s':>9} {'lifetimes s':>12} {'ratio':>7}"
    print(header + f" {'max rel diff':>13}")
    missed = []
    for name, s in sets:
        ours_t, ours_out = best_of(args.repeat, partial(run_ours, s))
        reps = 3 if len(s) < 10_000 else 1  # lifetimes takes minutes on the big sets
        theirs_t, theirs_out = best_of(reps, partial(run_lifetimes, s))
        diff = max_rel_diff(ours_out, theirs_out)
        ratio = theirs_t / ours_t
        print(
            f"{name:<22} {len(s):>10,} {ours_t:>9.3f} {theirs_t:>12.3f} "
            f"{ratio:>6.1f}x {diff:>13.1e}",
            flush=True,
        )
        if diff > TOLERANCE:
            missed.append(f"{name} {len(s):,}: predictions differ by {diff:.1e} > {TOLERANCE}")
        if len(s) == args.customers and ratio < TARGET:
            missed.append(f"{name} {len(s):,}: {ratio:.1f}x < the {TARGET:.0f}x target")
    print(f"load average: {' '.join(f'{v:.2f}' for v in os.getloadavg())}")
    if missed:
        print("MISSED: " + "; ".join(missed))
        raise SystemExit(1)
    print(f"target met: >= {TARGET:.0f}x lifetimes at {args.customers:,}, within {TOLERANCE}")


if __name__ == "__main__":
    main()
