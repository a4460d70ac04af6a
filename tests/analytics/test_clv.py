"""BG/NBD, Gamma-Gamma and CLV against the paper, lifetimes and plain-Python references."""

from __future__ import annotations

import math
import os
from collections import defaultdict

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.datasets import load_cdnow_summary
from scipy import integrate, stats

from huitouke.analytics import clv

CAL_END = "1997-09-30"
HOLD_END = "1998-06-30"
PAPER = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}  # Fader, Hardie & Lee 2005, section 5
PAPER_LL = -9582.4
WEEKS_90D = 90 / 7


def _cdnow_lines() -> list[str]:
    """Lines of the CDNOW sample shipped in the lifetimes package (never copied here)."""
    import lifetimes

    path = os.path.join(os.path.dirname(lifetimes.__file__), "datasets", "CDNOW_sample.txt")
    with open(path) as fh:
        return fh.read().splitlines()


def _cdnow_rows() -> list[tuple[int, str, float]]:
    """CDNOW sample rows: customer id, ISO date, dollars."""
    rows = []
    for line in _cdnow_lines():
        cid, _idx, ymd, _cds, dollars = line.split()
        rows.append((int(cid), f"{ymd[:4]}-{ymd[4:6]}-{ymd[6:]}", float(dollars)))
    return rows


def _plain_summary(rows, cal_end, hold_end, freq_days=7.0):
    """Reference summary written as a plain loop: merge per (customer, day), then describe."""
    cal = np.datetime64(cal_end, "D")
    hold = np.datetime64(hold_end, "D")
    per_day: dict[object, dict[int, float]] = defaultdict(lambda: defaultdict(float))
    holdout_days: dict[object, set[int]] = defaultdict(set)
    for cid, day, amount in rows:
        d = np.datetime64(day, "D")
        if d <= cal:
            per_day[cid][int(d.astype(int))] += amount
        elif d <= hold:
            holdout_days[cid].add(int(d.astype(int)))
    out = {}
    for cid, days in per_day.items():
        ordered = sorted(days)
        x = len(ordered) - 1
        repeat = [days[d] for d in ordered[1:]]
        out[cid] = (
            x,
            (ordered[-1] - ordered[0]) / freq_days,
            (int(cal.astype(int)) - ordered[0]) / freq_days,
            sum(repeat) / x if x else 0.0,
            len(holdout_days[cid]),
        )
    return out


@pytest.fixture(scope="module")
def cdnow() -> clv.Summary:
    rows = _cdnow_rows()
    ids = np.array([r[0] for r in rows])
    dates = np.array([r[1] for r in rows], dtype="datetime64[D]")
    amounts = np.array([r[2] for r in rows])
    return clv.rfm_summary(ids, dates, amounts, CAL_END, holdout_end=HOLD_END)


@pytest.fixture(scope="module")
def ours(cdnow) -> clv.BgNbdFit:
    return clv.fit_bgnbd(cdnow.x, cdnow.t_x, cdnow.T)


@pytest.fixture(scope="module")
def theirs(cdnow) -> BetaGeoFitter:
    return BetaGeoFitter().fit(cdnow.x, cdnow.t_x, cdnow.T)


@pytest.fixture(scope="module")
def their_gg(cdnow) -> GammaGammaFitter:
    rep = cdnow.x > 0
    return GammaGammaFitter().fit(cdnow.x[rep], cdnow.monetary[rep])


def _params(fitter: BetaGeoFitter) -> clv.BgNbdParams:
    p = fitter.params_
    return clv.BgNbdParams(r=p["r"], alpha=p["alpha"], a=p["a"], b=p["b"])


# --- summary ----------------------------------------------------------------------------------


def test_summary_matches_a_plain_loop_on_cdnow(cdnow):
    ref = _plain_summary(_cdnow_rows(), CAL_END, HOLD_END)
    assert len(cdnow) == len(ref) == 2357
    for i, cid in enumerate(cdnow.customer_ids):
        x, t_x, T, m, h = ref[int(cid)]
        assert (cdnow.x[i], cdnow.holdout_x[i]) == (x, h)
        assert cdnow.t_x[i] == pytest.approx(t_x, abs=1e-12)
        assert cdnow.T[i] == pytest.approx(T, abs=1e-12)
        assert cdnow.monetary[i] == pytest.approx(m, rel=1e-12)


def test_summary_agrees_with_the_published_cdnow_summary(cdnow):
    # The package's summary is indexed by the file's second column (customer index) and
    # rounded to 2 decimals of a week.
    index_of = {}
    for line in _cdnow_lines():
        cid, idx = line.split()[:2]
        index_of[int(cid)] = int(idx)
    pub = load_cdnow_summary(index_col=[0]).loc[[index_of[int(c)] for c in cdnow.customer_ids]]
    np.testing.assert_array_equal(cdnow.x, pub["frequency"].to_numpy())
    np.testing.assert_allclose(cdnow.t_x, pub["recency"].to_numpy(), atol=0.005)
    np.testing.assert_allclose(cdnow.T, pub["T"].to_numpy(), atol=0.005)
    assert cdnow.x.sum() == 2457 and (cdnow.x > 0).sum() == 946


def test_same_day_orders_are_merged_and_first_order_left_out_of_monetary():
    s = clv.rfm_summary(
        ["a", "a", "a", "a", "b"],
        np.array(["2024-01-01", "2024-01-01", "2024-01-08", "2024-01-22", "2024-01-15"], "M8[D]"),
        [10.0, 5.0, 20.0, 40.0, 7.0],
        "2024-01-29",
        holdout_end="2024-02-05",
    )
    assert list(s.customer_ids) == ["a", "b"]
    assert list(s.x) == [2, 0]
    assert list(s.t_x) == [3.0, 0.0]
    assert list(s.T) == [4.0, 2.0]
    assert list(s.monetary) == [30.0, 0.0]
    assert list(s.holdout_x) == [0, 0]


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(0, 5), st.integers(0, 40), st.integers(0, 500)),
        min_size=0,
        max_size=40,
    ),
    st.integers(1, 7),
)
def test_summary_matches_plain_loop_on_random_orders(orders, freq_days):
    base = np.datetime64("2024-03-01", "D")
    rows = [(c, str(base + d), float(a)) for c, d, a in orders]
    cal_end, hold_end = str(base + 25), str(base + 33)
    s = clv.rfm_summary(
        np.array([r[0] for r in rows], dtype=np.int64),
        np.array([r[1] for r in rows], dtype="datetime64[D]"),
        np.array([r[2] for r in rows]),
        cal_end,
        holdout_end=hold_end,
        freq_days=freq_days,
    )
    ref = _plain_summary(rows, cal_end, hold_end, freq_days)
    assert sorted(ref) == list(s.customer_ids)
    for i, cid in enumerate(s.customer_ids):
        x, t_x, T, m, h = ref[int(cid)]
        assert (s.x[i], s.holdout_x[i]) == (x, h)
        assert s.t_x[i] == pytest.approx(t_x) and s.T[i] == pytest.approx(T)
        assert s.monetary[i] == pytest.approx(m)


# --- BG/NBD: the paper ------------------------------------------------------------------------


def test_bgnbd_reproduces_the_paper_on_cdnow(ours):
    p = ours.params
    got = {"r": p.r, "alpha": p.alpha, "a": p.a, "b": p.b}
    assert {k: round(v, 3) for k, v in got.items()} == PAPER
    assert round(ours.log_likelihood, 1) == PAPER_LL
    assert (ours.n_customers, ours.n_repeaters) == (2357, 946)


def test_bgnbd_reproduces_the_paper_on_the_packaged_summary():
    pub = load_cdnow_summary(index_col=[0])
    fit = clv.fit_bgnbd(pub["frequency"], pub["recency"], pub["T"])
    p = fit.params
    assert [round(v, 3) for v in (p.r, p.alpha, p.a, p.b)] == list(PAPER.values())
    assert round(fit.log_likelihood, 1) == PAPER_LL


def test_log_likelihood_of_one_customer_by_hand():
    # Paper eq. 6 written out for x = 2, t_x = 30.43, T = 38.86 at the paper's parameters.
    r, al, a, b = 0.243, 4.414, 0.793, 2.426
    x, t_x, T = 2, 30.43, 38.86
    beta = lambda u, v: math.exp(math.lgamma(u) + math.lgamma(v) - math.lgamma(u + v))  # noqa: E731
    common = beta(a, b + x) / beta(a, b) * math.gamma(r + x) * al**r / math.gamma(r)
    alive = 1 / (al + T) ** (r + x)
    dead = a / (b + x - 1) / (al + t_x) ** (r + x)
    expected = math.log(common * (alive + dead))
    got = clv.bgnbd_log_likelihood(clv.BgNbdParams(r, al, a, b), [x], [t_x], [T])
    assert got[0] == pytest.approx(expected, rel=1e-12)
    # A customer with no repeat purchase: (alpha / (alpha + T))^r.
    got0 = clv.bgnbd_log_likelihood(clv.BgNbdParams(r, al, a, b), [0], [0], [T])
    assert got0[0] == pytest.approx(r * math.log(al / (al + T)), rel=1e-12)


# --- BG/NBD: agreement with lifetimes ---------------------------------------------------------


def test_fit_agrees_with_lifetimes(ours, theirs):
    p = ours.params
    np.testing.assert_allclose([p.r, p.alpha, p.a, p.b], theirs.params_.to_numpy(), rtol=1e-4)


def test_penalised_fit_agrees_with_lifetimes(cdnow):
    theirs = BetaGeoFitter(penalizer_coef=0.05).fit(cdnow.x, cdnow.t_x, cdnow.T)
    p = clv.fit_bgnbd(cdnow.x, cdnow.t_x, cdnow.T, penalizer=0.05).params
    np.testing.assert_allclose([p.r, p.alpha, p.a, p.b], theirs.params_.to_numpy(), rtol=1e-4)


def test_continuous_times_and_repeated_rows_give_the_same_answers(cdnow):
    # Day-granular summaries are fitted on distinct rows with weights; continuous times are
    # not. Both paths must agree with lifetimes, and repeating every customer must not move
    # the maximum-likelihood estimate.
    rng = np.random.default_rng(7)
    jitter = rng.uniform(0, 1e-3, len(cdnow))
    t_x = np.where(cdnow.x > 0, cdnow.t_x + jitter, 0.0)
    T = cdnow.T + jitter
    theirs = BetaGeoFitter().fit(cdnow.x, t_x, T)
    p = clv.fit_bgnbd(cdnow.x, t_x, T).params
    np.testing.assert_allclose([p.r, p.alpha, p.a, p.b], theirs.params_.to_numpy(), rtol=1e-4)
    aov = np.full(len(cdnow), 30.0)
    np.testing.assert_allclose(
        clv.customer_lifetime_value(_params(theirs), cdnow.x, t_x, T, aov),
        clv.customer_lifetime_value(_params(theirs), cdnow.x, cdnow.t_x, cdnow.T, aov),
        rtol=1e-3,
    )
    once = clv.fit_bgnbd(cdnow.x, cdnow.t_x, cdnow.T)
    thrice = clv.fit_bgnbd(*(np.tile(v, 3) for v in (cdnow.x, cdnow.t_x, cdnow.T)))
    np.testing.assert_allclose(
        list(vars(thrice.params).values()), list(vars(once.params).values()), rtol=1e-6
    )
    assert thrice.log_likelihood == pytest.approx(3 * once.log_likelihood, rel=1e-12)


@pytest.mark.parametrize("t", [1.0, WEEKS_90D, 39.0])
def test_predictions_agree_with_lifetimes_on_every_customer(cdnow, ours, theirs, t):
    s = cdnow
    # Each side with its own fit ...
    np.testing.assert_allclose(
        clv.p_alive(ours.params, s.x, s.t_x, s.T),
        theirs.conditional_probability_alive(s.x, s.t_x, s.T),
        rtol=1e-4,
    )
    np.testing.assert_allclose(
        clv.expected_purchases(ours.params, t, s.x, s.t_x, s.T),
        theirs.conditional_expected_number_of_purchases_up_to_time(t, s.x, s.t_x, s.T),
        rtol=1e-4,
    )
    # ... and with lifetimes' parameters fed in, where only the formulas differ.
    same = _params(theirs)
    np.testing.assert_allclose(
        clv.expected_purchases(same, t, s.x, s.t_x, s.T),
        theirs.conditional_expected_number_of_purchases_up_to_time(t, s.x, s.t_x, s.T),
        rtol=1e-9,
    )
    np.testing.assert_allclose(
        clv.expected_purchases_new_customer(same, [t]),
        [theirs.expected_number_of_purchases_up_to_time(t)],
        rtol=1e-9,
    )


def _expected_by_quadrature(params, t, x, t_x, T):
    """Eq. 10 by integrating (1/p)(1 - e^{-lambda p t}) over the posterior, 1-D in p."""
    r, al, a, b = params.r, params.alpha, params.a, params.b
    ratio = a / (b + x - 1) * ((al + T) / (al + t_x)) ** (r + x) if x else 0.0
    alive = 1 / (1 + ratio)
    # Given alive: lambda ~ Gamma(r+x, al+T) (integrated out in closed form), p ~ Beta(a, b+x).
    dens = stats.beta(a, b + x).pdf
    inner = lambda p: (1 - ((al + T) / (al + T + p * t)) ** (r + x)) / p * dens(p)  # noqa: E731
    return alive * integrate.quad(inner, 0, 1, limit=200, epsabs=0, epsrel=1e-11)[0]


@pytest.mark.parametrize(
    ("x", "t_x", "T"), [(0, 0.0, 30.0), (1, 2.0, 38.0), (30, 50.0, 52.0), (400, 150.0, 160.0)]
)
def test_expected_purchases_by_quadrature_including_heavy_buyers(x, t_x, T):
    params = clv.BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
    got = clv.expected_purchases(params, 13.0, [x], [t_x], [T])[0]
    assert got == pytest.approx(_expected_by_quadrature(params, 13.0, x, t_x, T), rel=1e-7)


def _prob_any_by_quadrature(params, t, x, t_x, T):
    """P(at least one purchase in t) by 2-D integration over the joint posterior of (lambda, p)."""
    r, al, a, b = params.r, params.alpha, params.a, params.b
    log_beta_ab = math.lgamma(a) + math.lgamma(b) - math.lgamma(a + b)

    def prior(p, lam):  # log Gamma(r, al) density of lambda + log Beta(a, b) density of p
        return (
            r * math.log(al) - math.lgamma(r) + (r - 1) * math.log(lam) - al * lam
            + (a - 1) * math.log(p) + (b - 1) * math.log1p(-p) - log_beta_ab
        )  # fmt: skip

    def alive(p, lam):  # x purchases by T, survived each, no purchase in (t_x, T]
        return math.exp(x * math.log(lam) - lam * T + x * math.log1p(-p) + prior(p, lam))

    def dead(p, lam):  # x purchases, died right after the last one at t_x
        return math.exp(
            math.log(p) + (x - 1) * math.log1p(-p) + x * math.log(lam) - lam * t_x + prior(p, lam)
        )

    def buys(p, lam):  # alive at T and the next Poisson event comes within t
        return alive(p, lam) * -math.expm1(-lam * t)

    def total(f):
        return integrate.dblquad(f, 0, 40, 0, 1, epsabs=0, epsrel=1e-10)[0]

    return total(buys) / (total(alive) + (total(dead) if x else 0.0))


@pytest.mark.parametrize(("x", "t_x", "T"), [(0, 0.0, 20.0), (2, 10.0, 20.0), (4, 5.0, 25.0)])
def test_probability_of_any_purchase_by_integration(x, t_x, T):
    params = clv.BgNbdParams(r=1.5, alpha=4.0, a=1.3, b=2.5)
    got = clv.prob_any_purchase(params, 6.0, [x], [t_x], [T])[0]
    assert got == pytest.approx(_prob_any_by_quadrature(params, 6.0, x, t_x, T), rel=1e-7)


def test_new_customer_probability_of_any_purchase_is_one_minus_nbd_zero():
    # Eq. 8 at n = 0 for a fresh customer: P(X(t) = 0) = (alpha / (alpha + t))^r.
    params = clv.BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
    got = clv.prob_any_purchase(params, 10.0, [0], [0.0], [0.0])[0]
    assert got == pytest.approx(1 - (4.414 / 14.414) ** 0.243, rel=1e-12)


def test_holdout_comparison_matches_a_plain_grouping(cdnow, theirs):
    params = _params(theirs)
    table = clv.holdout_comparison(cdnow, params)
    pred = theirs.conditional_expected_number_of_purchases_up_to_time(
        39.0, cdnow.x, cdnow.t_x, cdnow.T
    )
    for bucket in range(8):
        members = [i for i in range(len(cdnow)) if min(cdnow.x[i], 7) == bucket]
        assert table["customers"][bucket] == len(members)
        actual = sum(cdnow.holdout_x[i] for i in members) / len(members)
        assert table["actual"][bucket] == pytest.approx(actual)
        assert table["predicted"][bucket] == pytest.approx(
            sum(pred[i] for i in members) / len(members), rel=1e-8
        )


# --- Gamma-Gamma and CLV ----------------------------------------------------------------------


def test_gamma_gamma_agrees_with_lifetimes(cdnow, their_gg):
    rep = cdnow.x > 0
    fit = clv.fit_gamma_gamma(cdnow.x[rep], cdnow.monetary[rep])
    got = [fit.params.p, fit.params.q, fit.params.gamma]
    np.testing.assert_allclose(got, their_gg.params_.to_numpy(), rtol=1e-3)
    np.testing.assert_allclose(
        clv.expected_aov(fit.params, cdnow.x, cdnow.monetary),
        their_gg.conditional_expected_average_profit(cdnow.x, cdnow.monetary),
        rtol=1e-3,
    )


def test_gamma_gamma_log_likelihood_by_hand():
    p, q, g, x, m = 6.25, 3.74, 15.44, 3, 22.5
    # Note 025 eq. 1a: f(m | p, q, gamma; x).
    expected = (
        math.lgamma(p * x + q)
        - math.lgamma(p * x)
        - math.lgamma(q)
        + q * math.log(g)
        + (p * x - 1) * math.log(m)
        + p * x * math.log(x)
        - (p * x + q) * math.log(g + m * x)
    )
    got = clv.gamma_gamma_log_likelihood(clv.GammaGammaParams(p, q, g), [x], [m])[0]
    assert got == pytest.approx(expected, rel=1e-12)


def test_clv_agrees_with_lifetimes(cdnow, theirs, their_gg):
    s = cdnow
    # lifetimes takes a "W" month as 4.345 weeks; ask ours for the same month.
    ref = their_gg.customer_lifetime_value(
        theirs, pd.Series(s.x), pd.Series(s.t_x), pd.Series(s.T), pd.Series(s.monetary), freq="W"
    ).to_numpy()
    gp = their_gg.params_
    aov = clv.expected_aov(clv.GammaGammaParams(gp["p"], gp["q"], gp["v"]), s.x, s.monetary)
    got = clv.customer_lifetime_value(_params(theirs), s.x, s.t_x, s.T, aov, units_per_month=4.345)
    np.testing.assert_allclose(got, ref, rtol=1e-9)
    # The whole pipeline, fitted on its own, agrees too.
    result = clv.fit_clv(s, days_per_month=4.345 * 7)
    np.testing.assert_allclose(result.predicted_clv, ref, rtol=1e-3)
    np.testing.assert_allclose(
        result.expected_orders_90d,
        theirs.conditional_expected_number_of_purchases_up_to_time(WEEKS_90D, s.x, s.t_x, s.T),
        rtol=1e-4,
    )
    assert set(result.params) == {"r", "alpha", "a", "b", "p", "q", "gamma"}
    assert result.warnings == []


def test_clv_discounting_by_hand():
    # One customer, two months: CLV = E1 * aov / 1.01 + (E2 - E1) * aov / 1.01^2.
    params = clv.BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
    e1, e2 = clv.expected_purchases(params, [4.0, 8.0], [2, 2], [30.0, 30.0], [38.0, 38.0])
    got = clv.customer_lifetime_value(
        params, [2], [30.0], [38.0], [50.0], months=2, units_per_month=4.0
    )[0]
    assert got == pytest.approx(e1 * 50 / 1.01 + (e2 - e1) * 50 / 1.01**2, rel=1e-12)


# --- degenerate input -------------------------------------------------------------------------


def _summary(x, t_x, T, monetary=None) -> clv.Summary:
    x = np.asarray(x, dtype=np.int64)
    m = np.zeros(x.shape) if monetary is None else np.asarray(monetary, dtype=float)
    return clv.Summary(np.arange(x.shape[0]), x, np.asarray(t_x, float), np.asarray(T, float), m)


def _code(fn, *args, **kwargs) -> str:
    with pytest.raises(clv.ClvDataError) as err:
        fn(*args, **kwargs)
    assert str(err.value)  # a readable message goes with the code
    return err.value.code


def test_no_customers():
    empty = clv.rfm_summary(
        np.array([], dtype=np.int64), np.array([], "M8[D]"), np.array([]), "2024-01-01"
    )
    assert len(empty) == 0
    assert _code(clv.fit_clv, empty) == "no_customers"


def test_one_customer():
    assert _code(clv.fit_clv, _summary([3], [5.0], [9.0], [10.0])) == "one_customer"


def test_all_orders_on_one_day():
    s = clv.rfm_summary(
        [1, 2, 3, 1], np.array(["2024-05-01"] * 4, "M8[D]"), [5, 6, 7, 8], "2024-06-01"
    )
    assert _code(clv.fit_clv, s) == "all_orders_one_day"


def test_no_repeat_customers():
    assert _code(clv.fit_clv, _summary([0, 0, 0], [0, 0, 0], [3.0, 5.0, 9.0])) == (
        "no_repeat_customers"
    )


def test_too_few_repeat_customers():
    n = clv.MIN_REPEAT_CUSTOMERS - 1
    s = _summary([1] * n + [0] * 50, [2.0] * n + [0.0] * 50, [10.0] * (n + 50), [5.0] * (n + 50))
    with pytest.raises(clv.ClvDataError) as err:
        clv.fit_clv(s)
    assert err.value.code == "too_few_repeat_customers" and err.value.value == n


def test_negative_order_amount_names_the_row():
    with pytest.raises(clv.ClvDataError) as err:
        clv.rfm_summary(
            [1, 1], np.array(["2024-01-01", "2024-01-02"], "M8[D]"), [5, -3], "2024-02-01"
        )
    assert (err.value.code, err.value.row, err.value.value) == ("negative_spend", 1, -3.0)


def test_zero_spend_is_refused_by_gamma_gamma(cdnow):
    rep = cdnow.x > 0
    m = cdnow.monetary[rep].copy()
    m[4] = 0.0
    with pytest.raises(clv.ClvDataError) as err:
        clv.fit_gamma_gamma(cdnow.x[rep], m)
    assert (err.value.code, err.value.row) == ("non_positive_spend", 4)


def test_zero_spend_repeaters_are_left_out_with_a_warning(cdnow):
    m = cdnow.monetary.copy()
    m[np.flatnonzero(cdnow.x > 0)[:3]] = 0.0
    s = clv.Summary(cdnow.customer_ids, cdnow.x, cdnow.t_x, cdnow.T, m)
    result = clv.fit_clv(s)
    assert [(w.code, w.value) for w in result.warnings] == [("zero_spend_left_out", 3)]
    assert np.isfinite(result.predicted_clv).all()


def test_all_repeat_spend_zero():
    s = _summary([1] * 20 + [0] * 20, [3.0] * 20 + [0.0] * 20, [9.0] * 40)
    assert _code(clv.fit_clv, s) == "non_positive_spend"


def test_optimiser_failure(cdnow):
    assert _code(clv.fit_bgnbd, cdnow.x, cdnow.t_x, cdnow.T, max_iterations=2) == "not_converged"


def test_inconsistent_summary_is_refused():
    assert _code(clv.p_alive, clv.BgNbdParams(1, 1, 1, 1), [1], [5.0], [4.0]) == "invalid_input"


def test_wildly_varying_spend_falls_back_to_observed_averages():
    rng = np.random.default_rng(0)
    x = np.r_[rng.integers(1, 4, 200), np.zeros(100, dtype=np.int64)]
    T = rng.uniform(20, 40, 300)
    t_x = np.where(x > 0, T * rng.uniform(0.2, 1, 300), 0.0)
    m = np.where(x > 0, np.exp(rng.normal(0, 2.5, 300)), 0.0)
    # lifetimes finds q < 1 too on this data: the population mean spend does not exist.
    gg = GammaGammaFitter().fit(x[:200], m[:200])
    ours = clv.fit_gamma_gamma(x[:200], m[:200]).params
    np.testing.assert_allclose([ours.p, ours.q, ours.gamma], gg.params_.to_numpy(), rtol=1e-3)
    assert ours.q < 1
    result = clv.fit_clv(_summary(x, t_x, T, m))
    assert "spend_too_dispersed" in [w.code for w in result.warnings]
    np.testing.assert_array_equal(result.expected_aov[:200], m[:200])
    assert np.all(result.expected_aov[200:] == pytest.approx(m[:200].mean()))


def test_the_calibration_chart_holds_no_value_json_cannot_store():
    # A forecast the model cannot compute (seen: -inf on a 40-customer demo) is left empty,
    # so the report stays valid JSON (SQLite's JSON_VALID check refused the refresh before).
    import json

    from huitouke.analytics.results import _finite_or_none

    values = _finite_or_none([1.5, float("nan"), float("-inf"), float("inf"), None, 2])
    assert values == [1.5, None, None, None, None, 2]
    json.dumps(values, allow_nan=False)
