"""BG/NBD expected orders and CLV stay finite and exact over the whole parameter space (issue 23).

The reference is paper eq. 10 in its original, untransformed form, evaluated by mpmath with 60
significant digits (so its cancellation near a = 1 costs nothing), written here independently of
the code under test. Where lifetimes is finite its answer must agree as well.
"""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lifetimes import BetaGeoFitter
from scipy.optimize import minimize
from scipy.special import gammaln

from huitouke.analytics import clv

CUSTOMERS = [  # (x, t_x, T) in weeks: new today, one-off, regulars, a heavy buyer
    (0, 0.0, 0.0),
    (0, 0.0, 30.0),
    (1, 2.0, 38.0),
    (4, 20.0, 26.0),
    (30, 50.0, 52.0),
]


def mp_expected(r, alpha, a, b, t, x, t_x, T, dps=60):
    """E[orders in (T, T+t] | x, t_x, T], eq. 10 as printed, at `dps` digits; limit at a = 1."""
    with mp.workdps(dps):
        r, alpha, b, t, x, t_x, T = (mp.mpf(v) for v in (r, alpha, b, t, x, t_x, T))
        a = mp.mpf(a)
        if a == 1:
            # A removable singularity: the value at a = 1 is the limit, taken 1e-40 away
            # with 60 digits (the error of doing so is of order 1e-40).
            a = mp.mpf(1) + mp.mpf("1e-40")
        z = t / (alpha + T + t)
        c = a + b + x - 1
        numerator = (
            c
            / (a - 1)
            * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * mp.hyp2f1(r + x, b + x, c, z))
        )
        ratio = a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x) if x > 0 else 0
        return numerator / (1 + ratio)


def mp_expected_by_integral(r, alpha, a, b, t, x, t_x, T, dps=30):
    """The same expectation as a Beta integral: for the corners where hyp2f1 never finishes.

    Given alive, lambda ~ Gamma(r+x, alpha+T) and p ~ Beta(a, b+x), and E[orders in t] =
    E[(1 - (1 + p t/(alpha+T))^-(r+x)) / p]. The linear interpolant of the integrand between
    p = 0 and p = 1 is integrated exactly (its mean is at E[p]); the rest vanishes at both ends,
    so the density's singularities there (a or b+x below 1) do no harm to mpmath's quadrature.
    """
    with mp.workdps(dps):
        r, alpha, a, b, t, t_x, T = (mp.mpf(v) for v in (r, alpha, a, b, t, t_x, T))
        k, u, bx = r + x, t / (alpha + T), b + x

        def g(p):
            return k * u if p == 0 else -mp.expm1(-k * mp.log1p(p * u)) / p

        g0, g1, mean = g(mp.mpf(0)), g(mp.mpf(1)), a / (a + bx)
        log_norm = mp.log(mp.beta(a, bx))

        def rest(p):
            if p <= 0 or p >= 1:
                return mp.mpf(0)
            density = mp.exp((a - 1) * mp.log(p) + (bx - 1) * mp.log1p(-p) - log_norm)
            return (g(p) - g0 * (1 - p) - g1 * p) * density

        sd = mp.sqrt(a * bx / ((a + bx) ** 2 * (a + bx + 1)))
        cuts = sorted(
            {mp.mpf(0), mp.mpf(1), *(min(max(mean + j * sd, 0), 1) for j in (-8, -3, 0, 3, 8))}
        )
        alive_given = g0 * (1 - mean) + g1 * mean + mp.quad(rest, cuts)
        ratio = a / (bx - 1) * ((alpha + T) / (alpha + t_x)) ** k if x > 0 else 0
        return alive_given / (1 + ratio)


def mp_clv(
    r, alpha, a, b, x, t_x, T, aov, months=12, d=0.01, units=clv.DAYS_PER_MONTH / 7, exp=None
):
    """Sum over months of the expected orders in that month, discounted, times the order value."""
    exp = exp or mp_expected
    with mp.workdps(60):
        total, previous = mp.mpf(0), mp.mpf(0)
        for m in range(1, months + 1):
            cumulative = exp(r, alpha, a, b, m * units, x, t_x, T)
            total += (cumulative - previous) / mp.mpf(1 + d) ** m
            previous = cumulative
        return total * aov


def ours(params: clv.BgNbdParams, t: float, x: int, t_x: float, T: float) -> float:
    return float(clv.expected_purchases(params, t, [x], [t_x], [T])[0])


NEAR_ONE = [
    1.0,
    1 + 1e-12,
    1 - 1e-12,
    1 + 1e-9,
    1 - 1e-9,
    1 + 1e-6,
    1 - 1e-6,
    1 + 1e-4,
    1 - 1e-4,
    1 + 9.9e-4,
    1 + 1.01e-3,
    1 - 1.01e-3,
    1 + 1e-2,
]


@pytest.mark.parametrize("a", NEAR_ONE)
@pytest.mark.parametrize(("x", "t_x", "T"), CUSTOMERS)
def test_expected_orders_near_a_equal_one(a, x, t_x, T):
    params = clv.BgNbdParams(r=0.243, alpha=4.414, a=a, b=2.426)
    for t in (1.0, 13.0, 52.0):
        want = float(mp_expected(0.243, 4.414, a, 2.426, t, x, t_x, T))
        got = ours(params, t, x, t_x, T)
        assert math.isfinite(got)
        assert got == pytest.approx(want, rel=1e-9, abs=0), (a, t)


@pytest.mark.parametrize("a", [1.0, 1 + 1e-9, 1 - 1e-7, 1 + 1e-5, 1.2])
def test_clv_near_a_equal_one(a):
    params = clv.BgNbdParams(r=0.5, alpha=3.0, a=a, b=2.0)
    x, t_x, T = np.array([0, 1, 6]), np.array([0.0, 5.0, 40.0]), np.array([10.0, 20.0, 45.0])
    aov = np.array([100.0, 80.0, 250.0])
    got = clv.customer_lifetime_value(params, x, t_x, T, aov)
    for i in range(3):
        want = float(mp_clv(0.5, 3.0, a, 2.0, x[i], t_x[i], T[i], aov[i]))
        assert got[i] == pytest.approx(want, rel=1e-9, abs=0)


EDGES = [  # (r, alpha, a, b): the corners a fit can run into
    (1.986, 12.54, 63211.0, 9299898.0),  # a, b -> infinity (a demo shop of 400 customers)
    (50.0, 2.0, 1e5, 1e5),
    (0.5, 3.0, 2.0, 1e-6),  # b -> 0
    (0.5, 3.0, 0.3, 0.5),  # a + b < 1: c <= 0 for new customers
    (2.0, 1e6, 3.0, 4.0),  # huge alpha
    (1e-6, 4.0, 0.8, 2.4),  # r -> 0
    (0.0021, 0.18, 0.49, 0.024),  # small alpha, a < 1, b -> 0: t/(alpha+T) up to ~300
    (3.07, 2.85, 1.85e-8, 41204.0),  # a -> 0, huge b: steady buyers who never drop out
]


@pytest.mark.parametrize(("r", "alpha", "a", "b"), EDGES)
@pytest.mark.parametrize(("x", "t_x", "T"), CUSTOMERS)
def test_expected_orders_at_the_edges(r, alpha, a, b, x, t_x, T):
    params = clv.BgNbdParams(r=r, alpha=alpha, a=a, b=b)
    for t in (4.35, 52.2):
        want = float(mp_expected_by_integral(r, alpha, a, b, t, x, t_x, T))
        got = ours(params, t, x, t_x, T)
        assert math.isfinite(got) and got >= 0
        assert got == pytest.approx(want, rel=1e-9, abs=1e-300), (t,)


@pytest.mark.parametrize(("r", "alpha", "a", "b"), [EDGES[0], EDGES[2], EDGES[-1]])
def test_clv_at_the_edges_is_finite_and_exact(r, alpha, a, b):
    params = clv.BgNbdParams(r=r, alpha=alpha, a=a, b=b)
    x, t_x, T = np.array([0, 3]), np.array([0.0, 20.0]), np.array([30.0, 40.0])
    # Four months keep the reference quick; the monthly differences are the same code.
    got = clv.customer_lifetime_value(params, x, t_x, T, np.array([100.0, 100.0]), months=4)
    for i in range(2):
        want = float(
            mp_clv(r, alpha, a, b, x[i], t_x[i], T[i], 100.0, months=4, exp=mp_expected_by_integral)
        )
        assert got[i] == pytest.approx(want, rel=1e-9)


def _lifetimes(params: clv.BgNbdParams, t: float, x, t_x, T) -> np.ndarray:
    fitter = BetaGeoFitter()
    fitter.params_ = pd.Series(vars(params))
    with np.errstate(all="ignore"):
        return np.asarray(
            fitter.conditional_expected_number_of_purchases_up_to_time(
                t, np.asarray(x), np.asarray(t_x), np.asarray(T)
            ),
            dtype=float,
        )


@settings(max_examples=60, deadline=None, derandomize=True)
@given(
    r=st.floats(1e-3, 20),
    alpha=st.floats(0.5, 200),
    a=st.one_of(st.floats(0.05, 20), st.floats(1 - 1e-3, 1 + 1e-3)),
    b=st.floats(0.05, 50),
    t=st.sampled_from([4.35, 13.0, 52.2]),
)
def test_agrees_with_lifetimes_wherever_lifetimes_is_finite(r, alpha, a, b, t):
    params = clv.BgNbdParams(r=r, alpha=alpha, a=a, b=b)
    x = np.array([0, 1, 4, 12])
    t_x = np.array([0.0, 3.0, 20.0, 40.0])
    T = np.array([10.0, 30.0, 26.0, 45.0])
    got = clv.expected_purchases(params, t, x, t_x, T)
    assert np.isfinite(got).all() and (got >= 0).all()
    theirs = _lifetimes(params, t, x, t_x, T)
    finite = np.isfinite(theirs)
    # lifetimes' untransformed form loses digits near a = 1 (its c/(a-1) cancels): compare
    # to the accuracy it still has there.
    rel = 1e-7 if abs(a - 1) > 1e-2 else max(1e-7, 1e-14 / max(abs(a - 1), 1e-300))
    np.testing.assert_allclose(got[finite], theirs[finite], rtol=rel)


@settings(max_examples=25, deadline=None, derandomize=True)
@given(
    r=st.floats(1e-6, 1e3),
    alpha=st.floats(1e-2, 1e7),
    a=st.floats(1e-3, 1e8),
    b=st.floats(1e-6, 1e8),
)
def test_never_nan_or_infinite(r, alpha, a, b):
    params = clv.BgNbdParams(r=r, alpha=alpha, a=a, b=b)
    x, t_x, T = (
        np.array([0, 0, 2, 50]),
        np.array([0.0, 0.0, 5.0, 60.0]),
        np.array([0.0, 8.0, 9.0, 61.0]),
    )
    for t in (1.0, 52.2):
        got = clv.expected_purchases(params, t, x, t_x, T)
        assert np.isfinite(got).all() and (got >= 0).all(), got
    value = clv.customer_lifetime_value(params, x, t_x, T, np.full(4, 99.0))
    assert np.isfinite(value).all() and (value >= 0).all()


@pytest.mark.parametrize("b", [1e17, 1e20, 1e100])
def test_no_dropout_limit_when_b_dwarfs_a(b):
    # A fit on steady buyers who never drop out runs b up with a fixed (two shops of 2,000 in
    # the many-shops bench did). Past b/a ~ 1e16 the Beta's lowest quadrature nodes round to
    # p = 0; the dropout then vanishes and, given alive (P(alive) -> 1), the expectation is
    # the Gamma-Poisson one: (r + x) t / (alpha + T).
    r, alpha, a = 0.8, 20.0, 0.7
    params = clv.BgNbdParams(r=r, alpha=alpha, a=a, b=b)
    x, t_x, T = np.array([0, 1, 3, 40]), np.array([0.0, 100.0, 250.0, 299.0]), np.full(4, 300.0)
    for t in (4.35, 90.0, 365.0):
        got = clv.expected_purchases(params, t, x, t_x, T)
        np.testing.assert_allclose(got, (r + x) * t / (alpha + T), rtol=1e-9)
    value = clv.customer_lifetime_value(params, x, t_x, T, np.full(4, 99.0))
    assert np.isfinite(value).all() and (value > 0).all()


def _steady_buyers(seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """450 customers who never drop out: Poisson purchases at Gamma-distributed rates."""
    rng = np.random.default_rng(seed)
    T = rng.uniform(30, 156, 450)
    x = rng.poisson(rng.gamma(4.5, 1 / 4.5, 450) * T).astype(float)
    t_x = np.where(x > 0, T * rng.beta(np.maximum(x, 1), 1), 0.0)
    return x, t_x, T


@pytest.mark.parametrize("seed", [15, 28])
def test_a_fit_at_the_no_dropout_boundary_is_the_nbd_fit(seed):
    # With nobody dropping out the likelihood is highest as a -> 0 (p ~ Beta(a, b) -> 0), where
    # BFGS stopped on precision loss short of its tolerance and the fit used to be refused.
    # At p = 0 the BG/NBD likelihood is the NBD's with exposure T, so r and alpha must be the
    # NBD's maximum-likelihood estimates, fitted here on their own.
    x, t_x, T = _steady_buyers(seed)
    fit = clv.fit_bgnbd(x, t_x, T)
    p = fit.params
    assert p.a / (p.a + p.b) < 1e-9

    def nbd(theta):
        r, alpha = np.exp(theta)
        return -np.sum(
            gammaln(r + x) - gammaln(r) + r * np.log(alpha) - (r + x) * np.log(alpha + T)
        )

    best = minimize(
        nbd, np.zeros(2), method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-12}
    )
    r, alpha = np.exp(best.x)
    assert p.r == pytest.approx(r, rel=1e-5)
    assert p.alpha == pytest.approx(alpha, rel=1e-5)
    got = clv.expected_purchases(p, 13.0, x, t_x, T)
    np.testing.assert_allclose(got, (r + x) * 13.0 / (alpha + T), rtol=1e-5)


@pytest.mark.parametrize("seed", [0, 4, 14])
def test_gamma_gamma_with_one_spend_distribution_for_all(seed):
    # Every customer's spends come from one Gamma(2, rate 1/150): the likelihood is highest as
    # q, gamma -> infinity with q/gamma -> nu, where the objective (log-gammas of ~1e7) is
    # rounded more than BFGS's line search can resolve and the fit used to be refused. In that
    # limit each customer's mean of x spends is Gamma(p x, nu x): p and nu fitted on their own.
    rng = np.random.default_rng(seed)
    x = rng.integers(1, 15, 400).astype(float)
    m = np.array([rng.gamma(2.0, 150.0, int(k)).mean() for k in x])
    fit = clv.fit_gamma_gamma(x, m)

    def pooled(log_p):
        p = np.exp(log_p[0])
        nu = p * x.sum() / (x * m).sum()  # the rate's maximum given p
        return -np.sum(
            p * x * np.log(nu * x) - gammaln(p * x) + (p * x - 1) * np.log(m) - nu * x * m
        )

    best = minimize(
        pooled, np.zeros(1), method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-12}
    )
    p = float(np.exp(best.x[0]))
    nu = p * x.sum() / (x * m).sum()
    assert fit.params.q > 1e4
    assert fit.params.p == pytest.approx(p, rel=1e-4)
    np.testing.assert_allclose(clv.expected_aov(fit.params, x, m), p / nu, rtol=1e-3)


@pytest.mark.parametrize(
    "ids",
    [
        np.random.default_rng(1).integers(0, 50, 1000),  # counted
        np.random.default_rng(2).integers(1, 10**6, 10**5).astype(np.int32),  # counted, int32
        np.array([5, 5, 3, 0]),
        np.random.default_rng(3).integers(-5, 5, 100),  # negative: sorted
        np.array([10**12, 3, 10**12]),  # too sparse to count: sorted
        np.array(["b", "a", "b"]),
        np.array([], dtype=np.int64),
    ],
)
def test_distinct_ids_are_numpy_uniques(ids):
    """The summary's customer index (counted for database ids) is np.unique's, dtype and all."""
    uid, code = clv._distinct_ids(ids)
    want_uid, want_code = np.unique(ids, return_inverse=True)
    assert uid.dtype == want_uid.dtype and code.dtype == want_code.dtype
    np.testing.assert_array_equal(uid, want_uid)
    np.testing.assert_array_equal(code, want_code)
