"""The BG/NBD objective's gradient and Hessian, Newton's method, and the row grouping.

The reference for the objective is lifetimes' own negative log-likelihood
(`BetaGeoFitter._negative_log_likelihood`, written for autograd), differentiated by autograd,
on the CDNOW summary shipped in the lifetimes package (never copied here).
"""

from __future__ import annotations

import numpy as np
import pytest
from autograd import grad, hessian
from lifetimes import BetaGeoFitter, GammaGammaFitter
from lifetimes.datasets import load_cdnow_summary
from scipy.optimize import approx_fprime

from huitouke.analytics import clv

PAPER = np.log([0.243, 4.414 / 38.86, 0.793, 2.426])  # log-parameters, time scaled to max T = 1


def _cdnow(kind: str) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """CDNOW (x, t_x, T) scaled to max T = 1: as published, jittered, or each row three times."""
    pub = load_cdnow_summary(index_col=[0])
    x = pub["frequency"].to_numpy(dtype=float)
    t_x = pub["recency"].to_numpy(dtype=float)
    T = pub["T"].to_numpy(dtype=float)
    if kind == "jittered":  # continuous times: every row distinct, no weights
        jitter = np.random.default_rng(3).uniform(0, 1e-3, x.shape[0])
        t_x, T = np.where(x > 0, t_x + jitter, 0.0), T + jitter
    if kind == "tripled":  # repeated rows: grouped, with weights
        x, t_x, T = (np.tile(v, 3) for v in (x, t_x, T))
    scale = T.max()
    return x, t_x / scale, T / scale


def _lifetimes_nll(theta, x, t_x, T, penalizer):
    return BetaGeoFitter._negative_log_likelihood(theta, x, t_x, T, np.ones_like(x), penalizer)


@pytest.mark.parametrize("kind", ["published", "jittered", "tripled"])
@pytest.mark.parametrize("penalizer", [0.0, 0.1])
@pytest.mark.parametrize("theta", [np.zeros(4), PAPER, np.array([-2.0, 1.5, 0.7, -0.4])])
def test_objective_gradient_and_hessian_equal_lifetimes_by_autograd(kind, penalizer, theta):
    x, t_x, T = _cdnow(kind)
    objective = clv._BgNbdObjective(x, t_x, T, penalizer)
    if kind == "tripled":
        assert objective.rows < x.shape[0]  # the grouped path
    if kind == "jittered":
        assert objective.rows == x.shape[0]
    value, gradient, hess = objective.evaluate(theta, hessian=True)
    assert value == pytest.approx(float(_lifetimes_nll(theta, x, t_x, T, penalizer)), rel=1e-12)
    want_grad = grad(_lifetimes_nll)(theta, x, t_x, T, penalizer)
    np.testing.assert_allclose(gradient, want_grad, rtol=1e-9, atol=1e-12)
    want_hess = hessian(_lifetimes_nll)(theta, x, t_x, T, penalizer)
    np.testing.assert_allclose(hess, want_hess, rtol=1e-8, atol=1e-11)
    # The gradient BFGS gets is the one without the Hessian's work.
    np.testing.assert_array_equal(objective(theta)[1], gradient)


def test_hessian_is_the_derivative_of_the_gradient():
    x, t_x, T = _cdnow("jittered")
    objective = clv._BgNbdObjective(x, t_x, T, 0.0)
    _, _, hess = objective.evaluate(PAPER, hessian=True)
    for j in range(4):
        column = approx_fprime(PAPER, lambda th, j=j: objective(th)[1][j], 1e-7)
        np.testing.assert_allclose(hess[j], column, rtol=1e-5, atol=1e-7)


def test_log_likelihood_at_the_last_point_is_the_per_customer_sum():
    x, t_x, T = _cdnow("tripled")
    objective = clv._BgNbdObjective(x, t_x, T, 0.05)
    objective(PAPER)
    params = clv.BgNbdParams(*np.exp(PAPER))
    want = clv.bgnbd_log_likelihood(params, x, t_x, T).sum()
    assert objective.log_likelihood == pytest.approx(want, rel=1e-12)


def test_newton_from_near_and_far_converges_to_the_bfgs_optimum_or_gives_up():
    x, t_x, T = _cdnow("jittered")
    objective = clv._BgNbdObjective(x, t_x, T, 0.0)
    optimum, _ = clv._minimize(objective, 4, 500, "BG/NBD")
    converged = 0
    rng = np.random.default_rng(11)
    starts = [optimum + 0.05, PAPER, np.zeros(4), *rng.normal(0.0, 2.0, (6, 4))]
    for start in starts:
        found = clv._newton(objective, np.asarray(start, dtype=float), 100)
        if found is None:
            continue  # the caller then runs BFGS
        converged += 1
        np.testing.assert_allclose(found[0], optimum, rtol=0, atol=1e-6)
    assert converged >= 2  # at least from the two starts next to the optimum


def _simulated(n: int, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Continuous-time customers drawn from the BG/NBD process at the CDNOW parameters."""
    rng = np.random.default_rng(seed)
    lam = rng.gamma(0.243, 1 / 4.414, n)
    drop = rng.beta(0.793, 2.426, n)
    T = rng.uniform(1.0, 78.0, n)
    events = rng.poisson(lam * T)
    x = np.minimum(events, rng.geometric(drop))
    t_x = np.zeros(n)
    rep = x > 0
    t_x[rep] = T[rep] * rng.beta(x[rep], events[rep] - x[rep] + 1)
    return x.astype(float), t_x, T


def test_many_distinct_rows_are_fitted_by_newton_as_lifetimes_fits_them():
    x, t_x, T = _simulated(clv._NEWTON_ROWS + 5_000, 2)
    scale = T.max()
    objective = clv._BgNbdObjective(x, t_x / scale, T / scale, 0.0)
    assert objective.rows > clv._NEWTON_ROWS
    stride = x.shape[0] // clv._WARM_SAMPLE
    sample = clv._BgNbdObjective(x[::stride], t_x[::stride] / scale, T[::stride] / scale, 0.0)
    start, _ = clv._minimize(sample, 4, 500, "BG/NBD")
    newton = clv._newton(objective, start, 500)
    assert newton is not None
    bfgs, _ = clv._minimize(objective, 4, 500, "BG/NBD")
    np.testing.assert_allclose(newton[0], bfgs, rtol=0, atol=1e-6)

    fit = clv.fit_bgnbd(x, t_x, T)
    got = np.exp(newton[0]) * [1.0, scale, 1.0, 1.0]
    np.testing.assert_allclose(list(vars(fit.params).values()), got, rtol=1e-12)
    theirs = BetaGeoFitter().fit(x, t_x, T)
    np.testing.assert_allclose(got, theirs.params_.to_numpy(), rtol=1e-4)
    ll = clv.bgnbd_log_likelihood(fit.params, x, t_x, T).sum()
    assert fit.log_likelihood == pytest.approx(ll, rel=1e-12)


@pytest.mark.parametrize("n", [2, 50, 120_000])
def test_groups_are_the_distinct_rows(n):
    rng = np.random.default_rng(n)
    x = rng.integers(0, 6, n).astype(float)
    T = rng.integers(1, 40, n) / 7.0
    t_x = np.where(x > 0, np.floor(T * 7 * rng.uniform(0, 1, n)) / 7.0, 0.0)
    grouped = clv._group(x, t_x, T)
    if grouped is None:
        assert n < 100  # too few repeats to pay
        return
    first, inverse, counts = grouped
    rows = np.stack([x, t_x, T], axis=1)
    distinct, want_inverse, want_counts = np.unique(
        rows, axis=0, return_inverse=True, return_counts=True
    )
    # Same partition of the rows; each group's row is one of its members; sizes agree.
    np.testing.assert_array_equal(rows[first][inverse], rows)
    np.testing.assert_array_equal(np.bincount(inverse), counts)
    assert first.shape[0] == distinct.shape[0]
    pairs = np.unique(np.stack([inverse, want_inverse.ravel()], axis=1), axis=0)
    assert pairs.shape[0] == distinct.shape[0]
    np.testing.assert_array_equal(np.sort(counts), np.sort(want_counts))


def test_fit_clv_predictions_equal_the_public_functions():
    x, t_x, T = _simulated(60_000, 4)
    monetary = np.where(x > 0, np.random.default_rng(5).gamma(6.0, 5.0, x.shape[0]), 0.0)
    summary = clv.Summary(np.arange(x.shape[0]), x.astype(np.int64), t_x, T, monetary)
    res = clv.fit_clv(summary)
    p = clv.BgNbdParams(**{k: res.params[k] for k in ("r", "alpha", "a", "b")})
    alive = clv.p_alive(p, x, t_x, T)
    np.testing.assert_array_equal(res.p_alive, alive)
    t90 = 90 / 7
    direct = clv._expected_if_alive(p, np.array(t90), x, T) * alive
    np.testing.assert_allclose(res.expected_orders_90d, direct, rtol=1e-8, atol=0)
    np.testing.assert_allclose(
        res.p_order_90d, clv.prob_any_purchase(p, t90, x, t_x, T), rtol=1e-12, atol=0
    )
    # CLV month by month from the direct values.
    want = np.zeros(x.shape[0])
    previous = np.zeros(x.shape[0])
    for month in range(1, 13):
        cumulative = clv._expected_if_alive(p, np.array(month * clv.DAYS_PER_MONTH / 7), x, T)
        want += (cumulative - previous) / 1.01**month
        previous = cumulative
    want *= alive * res.expected_aov
    np.testing.assert_allclose(res.predicted_clv, want, rtol=1e-8, atol=0)


# --- Gamma-Gamma ------------------------------------------------------------------------------


def _cdnow_spend() -> tuple[np.ndarray, np.ndarray]:
    """Repeat customers' (x, mean repeat spend) from lifetimes' CDNOW summary, spend mean 1."""
    from lifetimes.datasets import load_cdnow_summary_data_with_monetary_value

    data = load_cdnow_summary_data_with_monetary_value()
    rep = data[data["frequency"] > 0]
    m = rep["monetary_value"].to_numpy(dtype=float)
    return rep["frequency"].to_numpy(dtype=float), m / m.mean()


def _lifetimes_gg_nll(theta, x, m, penalizer):
    return GammaGammaFitter._negative_log_likelihood(theta, x, m, np.ones_like(x), penalizer)


@pytest.mark.parametrize("penalizer", [0.0, 0.1])
@pytest.mark.parametrize(
    "theta", [np.zeros(3), np.log([6.25, 3.74, 0.5]), np.array([1.0, -0.5, 2])]
)
def test_gamma_gamma_gradient_and_hessian_equal_lifetimes_by_autograd(penalizer, theta):
    x, m = _cdnow_spend()
    objective = clv._GammaGammaObjective(x, m, penalizer)
    value, gradient, hess = objective.evaluate(theta, hessian=True)
    assert value == pytest.approx(float(_lifetimes_gg_nll(theta, x, m, penalizer)), rel=1e-12)
    want_grad = grad(_lifetimes_gg_nll)(theta, x, m, penalizer)
    np.testing.assert_allclose(gradient, want_grad, rtol=1e-9, atol=1e-12)
    want_hess = hessian(_lifetimes_gg_nll)(theta, x, m, penalizer)
    np.testing.assert_allclose(hess, want_hess, rtol=1e-8, atol=1e-11)
    params = clv.GammaGammaParams(*np.exp(theta))
    want_ll = clv.gamma_gamma_log_likelihood(params, x, m).sum()
    assert objective.log_likelihood == pytest.approx(want_ll, rel=1e-12)


def test_many_repeat_customers_are_fitted_by_newton_as_lifetimes_fits_them():
    rng = np.random.default_rng(8)
    n = clv._NEWTON_ROWS + 5_000
    x = (rng.geometric(0.4, n)).astype(float)
    nu = rng.gamma(3.74, 1 / 15.44, n)
    m = rng.gamma(6.25 * x, 1 / nu) / x
    fit = clv.fit_gamma_gamma(x, m)
    scale = m.mean()
    objective = clv._GammaGammaObjective(x, m / scale, 0.0)
    bfgs, _ = clv._minimize(objective, 3, 500, "Gamma-Gamma")
    got = [fit.params.p, fit.params.q, fit.params.gamma / scale]
    np.testing.assert_allclose(np.log(got), bfgs, rtol=0, atol=1e-6)
    theirs = GammaGammaFitter().fit(x, m)
    np.testing.assert_allclose(
        list(vars(fit.params).values()), theirs.params_.to_numpy(), rtol=1e-4
    )
    ll = clv.gamma_gamma_log_likelihood(fit.params, x, m).sum()
    assert fit.log_likelihood == pytest.approx(ll, rel=1e-12)


@pytest.mark.parametrize("far", [-800.0, 800.0])
def test_objectives_at_parameters_that_underflow_or_overflow_do_not_raise(far):
    # BFGS's line search tries such points; they must come back as inf or nan (which it
    # rejects), not as ZeroDivisionError (a small shop's refresh once failed so).
    x, t_x, T = _cdnow("jittered")
    spend_x, spend = _cdnow_spend()
    objectives = [
        clv._BgNbdObjective(x, t_x, T, 0.0),
        clv._GammaGammaObjective(spend_x, spend, 0.0),
    ]
    for objective, n_params in zip(objectives, (4, 3), strict=True):
        for j in range(n_params):
            theta = np.zeros(n_params)
            theta[j] = far
            with np.errstate(all="ignore"):
                value, gradient, hess = objective.evaluate(theta, hessian=True)
            assert gradient.shape == (n_params,) and hess is not None
            assert isinstance(value, float)
