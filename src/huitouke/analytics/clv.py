"""Predictive customer value: BG/NBD, Gamma-Gamma, P(alive), expected orders and CLV (DESIGN §5).

BG/NBD: Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way", Marketing Science
24(2). Gamma-Gamma: Fader, Hardie & Lee (2005), "RFM and CLV: Using Iso-Value Curves",
JMR 42(4), and Hardie's note 025. Everything is vectorised over customers; time is measured
in units of `freq_days` days (7 = weeks, as in the paper).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.linalg import cho_factor, cho_solve, eigh_tridiagonal
from scipy.optimize import minimize
from scipy.special import digamma, expit, gammaln, hyp2f1, polygamma

__all__ = [
    "FEW_REPEAT_CUSTOMERS",
    "MIN_REPEAT_CUSTOMERS",
    "BgNbdFit",
    "BgNbdParams",
    "ClvDataError",
    "ClvResult",
    "ClvWarning",
    "GammaGammaFit",
    "GammaGammaParams",
    "Summary",
    "bgnbd_log_likelihood",
    "customer_lifetime_value",
    "expected_aov",
    "expected_purchases",
    "expected_purchases_new_customer",
    "fit_bgnbd",
    "fit_clv",
    "fit_gamma_gamma",
    "gamma_gamma_log_likelihood",
    "holdout_comparison",
    "p_alive",
    "prob_any_purchase",
    "rfm_summary",
]

Float = NDArray[np.float64]
Int = NDArray[np.int64]

# Below this many repeat customers the four BG/NBD parameters (and the three Gamma-Gamma
# ones) are too poorly identified to be worth showing; callers get a ClvDataError instead.
MIN_REPEAT_CUSTOMERS = 10
# Below this many the fit is shown but flagged as rough.
FEW_REPEAT_CUSTOMERS = 50
# BFGS on these likelihoods often stops with "precision loss" at the optimum; accept the
# answer when the gradient of the per-customer mean objective is this small.
_GRAD_TOL = 1e-5
# A few ulps: the rounding of a fit's objective relative to its largest log-gamma (`_minimize`).
_ROUNDING = 8 * float(np.finfo(np.float64).eps)
DAYS_PER_MONTH = 365.25 / 12


class ClvDataError(ValueError):
    """The data cannot support a CLV fit; `code` says why in a machine-readable way."""

    def __init__(self, code: str, message: str, *, row: int | None = None, value: object = None):
        super().__init__(message)
        self.code = code
        self.message = message
        self.row = row
        self.value = value


@dataclass(frozen=True)
class ClvWarning:
    """Something the owner should know about a fit that still produced numbers."""

    code: str
    message: str
    value: int | None = None


@dataclass(frozen=True)
class Summary:
    """Per-customer (x, t_x, T, monetary) for the calibration period, plus holdout counts."""

    customer_ids: NDArray[Any]
    x: Int  # repeat purchase days in the calibration period
    t_x: Float  # first to last purchase, in units
    T: Float  # first purchase to calibration end, in units
    monetary: Float  # mean value of repeat purchase days; 0 when x == 0
    holdout_x: Int | None = None  # purchase days in (calibration_end, holdout_end]
    freq_days: float = 7.0
    calibration_end: np.datetime64 | None = None
    holdout_end: np.datetime64 | None = None

    def __len__(self) -> int:
        return int(self.x.shape[0])


@dataclass(frozen=True)
class BgNbdParams:
    """BG/NBD parameters: purchase rate ~ Gamma(r, alpha), dropout p ~ Beta(a, b)."""

    r: float
    alpha: float
    a: float
    b: float


@dataclass(frozen=True)
class GammaGammaParams:
    """Gamma-Gamma parameters: spend ~ Gamma(p, nu), nu ~ Gamma(q, gamma)."""

    p: float
    q: float
    gamma: float


@dataclass(frozen=True)
class BgNbdFit:
    """A fitted BG/NBD model and its fit quality."""

    params: BgNbdParams
    log_likelihood: float  # total, in the summary's time unit, without the penalty
    n_customers: int
    n_repeaters: int
    iterations: int


@dataclass(frozen=True)
class GammaGammaFit:
    """A fitted Gamma-Gamma model and its fit quality."""

    params: GammaGammaParams
    log_likelihood: float
    n_customers: int
    iterations: int


@dataclass
class ClvResult:
    """Everything `fit_clv` learns: parameters, fit quality and per-customer predictions."""

    params: dict[str, float]  # r, alpha, a, b, p, q, gamma
    log_likelihood: float  # BG/NBD, total
    gamma_gamma_log_likelihood: float
    n_customers: int
    n_repeaters: int
    customer_ids: NDArray[Any]
    p_alive: Float
    expected_orders_90d: Float
    p_order_90d: Float  # probability of at least one order in the next 90 days
    expected_aov: Float
    predicted_clv: Float
    warnings: list[ClvWarning] = field(default_factory=list)


def _day(value: object) -> np.datetime64:
    """A calendar day from a date, an ISO string or a numpy datetime64."""
    if isinstance(value, dt.datetime):
        value = value.date()
    return np.datetime64(value, "D")  # type: ignore[call-overload]


def rfm_summary(
    customer_ids: ArrayLike,
    order_dates: ArrayLike,
    amounts: ArrayLike,
    calibration_end: object,
    *,
    holdout_end: object = None,
    freq_days: float = 7.0,
) -> Summary:
    """Build (x, t_x, T, monetary) per customer from orders, merging orders on the same day."""
    ids = np.asarray(customer_ids)
    days = np.asarray(order_dates, dtype="datetime64[D]")
    money = np.asarray(amounts, dtype=np.float64)
    if not (ids.shape == days.shape == money.shape) or ids.ndim != 1:
        raise ClvDataError(
            "invalid_input", "customer_ids, order_dates and amounts must be 1-D and equally long"
        )
    _check_rows(days, money)
    cal_end = _day(calibration_end)
    hold_end = None if holdout_end is None else _day(holdout_end)
    if hold_end is not None and hold_end < cal_end:
        raise ClvDataError("invalid_input", "holdout_end is before calibration_end")

    uid, code = _distinct_ids(ids)
    day = days.astype(np.int64)
    in_cal = day <= cal_end.astype(np.int64)
    # Customers are those with an order in the calibration period (the cohort being modelled).
    member = np.zeros(uid.shape[0], dtype=bool)
    member[code[in_cal]] = True
    new_index = np.cumsum(member) - 1
    n = int(member.sum())

    # One key per (customer, day), sorted by customer then day: np.unique merges same-day orders.
    c_cal = new_index[code[in_cal]]
    d_cal = day[in_cal]
    d0 = int(d_cal.min()) if d_cal.size else 0
    span = int(d_cal.max()) - d0 + 1 if d_cal.size else 1
    key, inv = np.unique(c_cal * span + (d_cal - d0), return_inverse=True)
    day_total = np.bincount(inv, weights=money[in_cal], minlength=key.shape[0])
    cust = key // span
    kday = key % span + d0
    n_days = np.bincount(cust, minlength=n)
    first_pos = np.cumsum(n_days) - n_days  # first key of each customer
    last_pos = first_pos + n_days - 1
    first_day = kday[first_pos] if n else np.zeros(0, np.int64)
    last_day = kday[last_pos] if n else np.zeros(0, np.int64)
    x = (n_days - 1).astype(np.int64)
    spend = np.bincount(cust, weights=day_total, minlength=n)
    repeat_spend = spend - (day_total[first_pos] if n else 0.0)
    monetary = np.divide(repeat_spend, x, out=np.zeros(n), where=x > 0)

    holdout_x = None
    if hold_end is not None:
        in_hold = (~in_cal) & (day <= hold_end.astype(np.int64)) & member[code]
        hkey = np.unique(new_index[code[in_hold]] * (1 << 32) + day[in_hold])
        holdout_x = np.bincount(hkey >> 32, minlength=n).astype(np.int64)

    return Summary(
        customer_ids=uid[member],
        x=x,
        t_x=(last_day - first_day) / freq_days,
        T=(cal_end.astype(np.int64) - first_day) / freq_days,
        monetary=monetary,
        holdout_x=holdout_x,
        freq_days=float(freq_days),
        calibration_end=cal_end,
        holdout_end=hold_end,
    )


def _distinct_ids(ids: NDArray[Any]) -> tuple[NDArray[Any], Int]:
    """np.unique(ids, return_inverse=True): the sorted distinct ids and each row's index in them.

    Database ids (non-negative integers, at most a few times as large as there are rows) are
    counted by np.bincount instead of sorted: the same arrays in linear time (a sort of ten
    million ids took a few seconds, twice per refresh). Any other ids are sorted.
    """
    if ids.size and ids.dtype.kind in "iu" and ids.min() >= 0 and ids.max() < 4 * ids.size + 2**20:
        present = np.bincount(ids) > 0
        index = np.cumsum(present) - 1
        return np.flatnonzero(present).astype(ids.dtype), index[ids]
    uid, code = np.unique(ids, return_inverse=True)
    return uid, code


def _check_rows(days: NDArray[np.datetime64], money: Float) -> None:
    """Reject missing dates and negative or missing amounts, naming the first bad row."""
    bad = np.flatnonzero(np.isnat(days))
    if bad.size:
        raise ClvDataError("missing_date", f"row {bad[0]}: order date is missing", row=int(bad[0]))
    bad = np.flatnonzero(~np.isfinite(money))
    if bad.size:
        raise ClvDataError("missing_amount", f"row {bad[0]}: amount is missing", row=int(bad[0]))
    bad = np.flatnonzero(money < 0)
    if bad.size:
        raise ClvDataError(
            "negative_spend",
            f"row {bad[0]}: amount {money[bad[0]]} is negative; refunds must be netted first",
            row=int(bad[0]),
            value=float(money[bad[0]]),
        )


def _as_arrays(x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> tuple[Float, Float, Float]:
    """Float copies of (x, t_x, T), checked for shape and consistency."""
    xa, ta, Ta = (np.asarray(v, dtype=np.float64) for v in (x, t_x, T))
    if not (xa.shape == ta.shape == Ta.shape):
        raise ClvDataError("invalid_input", "x, t_x and T must have the same shape")
    if not (np.isfinite(xa).all() and np.isfinite(ta).all() and np.isfinite(Ta).all()):
        raise ClvDataError("invalid_input", "x, t_x and T must be finite")
    if (xa < 0).any() or (ta < 0).any() or (ta > Ta).any() or (xa != np.round(xa)).any():
        raise ClvDataError(
            "invalid_input", "need whole x >= 0 and 0 <= t_x <= T for every customer"
        )
    if ((xa == 0) & (ta != 0)).any():
        raise ClvDataError("invalid_input", "t_x must be 0 for customers with x == 0")
    return xa, ta, Ta


# --- BG/NBD ---------------------------------------------------------------------------------


def _log_div(params: BgNbdParams, x: Float, t_x: Float, T: Float) -> Float:
    """log of a/(b+x-1) * ((alpha+T)/(alpha+t_x))^(r+x): the dead-vs-alive likelihood ratio."""
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    return np.log(a / (b + np.maximum(x, 1.0) - 1.0)) + (r + x) * (
        np.log(alpha + T) - np.log(alpha + t_x)
    )


def bgnbd_log_likelihood(params: BgNbdParams, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> Float:
    """Per-customer BG/NBD log-likelihood (paper eq. 6, in log form)."""
    xa, ta, Ta = _as_arrays(x, t_x, T)
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    base = (
        gammaln(r + xa)
        - gammaln(r)
        + r * np.log(alpha)
        + gammaln(a + b)
        + gammaln(b + xa)
        - gammaln(b)
        - gammaln(a + b + xa)
        - (r + xa) * np.log(alpha + Ta)
    )
    # log(A + B) = log A + softplus(log B - log A); B exists only for repeat customers.
    return base + np.where(xa > 0, np.logaddexp(0.0, _log_div(params, xa, ta, Ta)), 0.0)


def _dot(u: Float, v: Float) -> float:
    """Inner product without BLAS: a threaded BLAS dot costs ~10 ms on a busy machine."""
    return float((u * v).sum())


def _group(x: Float, *times: Float) -> tuple[Int, Int, Float] | None:
    """Rows with equal x and times: (a row of each group, row -> group, group sizes).

    Summaries built from calendar days repeat the same (x, T) and (x, t_x, T) over and over,
    so working on distinct rows saves most of the transcendental functions. Returns None when
    rows are mostly distinct (continuous times), where grouping would not pay.
    """
    cols = (x, *times)
    n = x.shape[0]
    if n == 0:
        return None
    if n > 4 * _SAMPLE:
        # Sorting a million continuous times only to learn they are distinct costs ~0.4 s a
        # column: a strided sample says so first (it only decides whether to group).
        stride = n // _SAMPLE
        for col in cols:
            if np.unique(col[::stride]).shape[0] > 0.95 * (col[::stride].shape[0]):
                return None
    key = np.zeros(n, dtype=np.int64)
    size = 1
    for i, col in enumerate(cols):
        # x holds whole counts: coded by a counting pass, the times by a sort.
        values, code = _distinct_counts(col) if i == 0 else np.unique(col, return_inverse=True)
        size *= values.shape[0]
        if values.shape[0] > n // 2 or size >= 1 << 62:
            return None
        key = key * values.shape[0] + code
    # np.unique(return_index=True) sorts stably (~0.2 s on 1M keys); an ordinary sort of the
    # keys and a scatter of the group numbers give the same groups. `first` is one row of each
    # group (all of its rows are equal in cols), not necessarily the first.
    perm = np.argsort(key)
    sorted_key = key[perm]
    new = np.empty(n, dtype=bool)
    new[0] = True
    np.not_equal(sorted_key[1:], sorted_key[:-1], out=new[1:])
    start = np.flatnonzero(new)
    if start.shape[0] > n // 2:
        return None
    inverse = np.empty(n, dtype=np.int64)
    inverse[perm] = np.cumsum(new) - 1
    counts = np.diff(np.append(start, n)).astype(np.float64)
    return perm[start], inverse, counts


_SAMPLE = 20_000


def _distinct_counts(x: Float) -> tuple[Float, Int]:
    """Distinct values of whole counts x >= 0 and each row's index among them: a counting
    pass (`_distinct_ids`) instead of np.unique's sort of a million floats (~0.1 s)."""
    values, code = _distinct_ids(x.astype(np.int64))
    return values.astype(np.float64), code.astype(np.int64)


def _trigamma(v: Float | float) -> Float:
    return np.asarray(polygamma(1, v), dtype=np.float64)


def _wsum(w: Float | None, v: Float) -> float:
    """Sum of v, weighted by w unless every row counts once (w is None)."""
    return float(v.sum()) if w is None else _dot(w, v)


class _BgNbdObjective:
    """Mean negative log-likelihood on log-parameters, its gradient and its Hessian.

    Rows without a repeat purchase contribute r log alpha - r log(alpha+T) only; they are kept
    apart from the repeat customers, whose x-only terms (gammaln, log(b+x-1)) are computed once
    per distinct x and gathered. On distinct rows (continuous times) the weights are all 1 and
    are left out of the sums.
    """

    def __init__(self, x: Float, t_x: Float, T: Float, penalizer: float) -> None:
        w: Float | None = None
        grouped = _group(x, t_x, T)
        if grouped is not None:
            first, _, w = grouped
            x, t_x, T = x[first], t_x[first], T[first]
        self.rows = int(x.shape[0])  # distinct rows when grouped
        self.n = float(x.shape[0]) if w is None else float(w.sum())
        self.ux, x_code = _distinct_counts(x)
        self.uc = np.bincount(x_code, weights=w, minlength=self.ux.shape[0]).astype(np.float64)
        zero = x == 0
        rep = ~zero
        self.T0 = T[zero]
        self.w0 = None if w is None else w[zero]
        self.xr, self.t_xr, self.Tr = x[rep], t_x[rep], T[rep]
        self.wr = None if w is None else w[rep]
        self.code_r = x_code[rep]
        self.wxr = self.xr if w is None else w[rep] * self.xr
        self.penalizer = penalizer
        self.log_likelihood = float("nan")  # total, at the last point evaluated

    def __call__(self, theta: Float) -> tuple[float, Float]:
        value, grad, _ = self.evaluate(theta, hessian=False)
        return value, grad

    def evaluate(self, theta: Float, *, hessian: bool) -> tuple[float, Float, Float | None]:
        """Objective, gradient and (when asked) Hessian, all in log-parameters."""
        r, alpha, a, b = np.exp(theta)  # numpy scalars: 1/0 is inf, not an exception
        n, ux, uc = self.n, self.ux, self.uc
        # x-only terms, over distinct x.
        lg_x = gammaln(r + ux) - gammaln(r) + gammaln(a + b) + gammaln(b + ux) - gammaln(b)
        lg_x -= gammaln(a + b + ux)
        dg_ab = digamma(a + b) - digamma(a + b + ux)
        ll = _dot(uc, lg_x) + n * r * np.log(alpha)
        g = np.array(
            [
                _dot(uc, digamma(r + ux) - digamma(r)) + n * np.log(alpha),
                n * r / alpha,
                _dot(uc, dg_ab),
                _dot(uc, dg_ab + digamma(b + ux) - digamma(b)),
            ]
        )
        h = np.zeros((4, 4))
        # Customers without a repeat purchase: -r log(alpha + T).
        A0 = alpha + self.T0
        L0 = np.log(A0)
        i0 = np.reciprocal(A0, out=A0)
        sum_L0, sum_i0 = _wsum(self.w0, L0), _wsum(self.w0, i0)
        ll -= r * sum_L0
        g[0] -= sum_L0
        g[1] -= r * sum_i0
        if hessian:
            h[0, 1] -= sum_i0
            h[1, 1] += r * _wsum(self.w0, i0 * i0)
        if self.xr.size:
            wr, xr = self.wr, self.xr
            k = r + xr
            LT = np.log(alpha + self.Tr)
            Lt = np.log(alpha + self.t_xr)
            iT = np.reciprocal(alpha + self.Tr)
            it = np.reciprocal(alpha + self.t_xr)
            L = LT - Lt
            D = iT - it
            ib_u = 1.0 / (b + np.maximum(ux, 1.0) - 1.0)
            d = (np.log(a) + np.log(ib_u))[self.code_r] + k * L
            sum_LT = _wsum(wr, LT)
            ll += -r * sum_LT - _dot(self.wxr, LT) + _wsum(wr, np.logaddexp(0.0, d))
            # Posterior probability that a repeat customer has died (times her weight).
            s = expit(d)
            ws = s if wr is None else wr * s
            wk_iT = (k if wr is None else wr * k) * iT
            ws_by_x: Float = np.bincount(self.code_r, weights=ws, minlength=ux.shape[0])  # type: ignore[assignment]
            kD = k * D
            sum_ws = float(ws.sum())
            g[0] += _dot(ws, L) - sum_LT
            g[1] += _dot(ws, kD) - float(wk_iT.sum())
            g[2] += sum_ws / a
            g[3] -= _dot(ws_by_x, ib_u)
            if hessian:
                wv = ws * (1.0 - s)
                ib = ib_u[self.code_r]
                vL, vkD, vib = wv * L, wv * kD, wv * ib
                sum_v, sum_vL, sum_vkD, sum_vib = (float(u.sum()) for u in (wv, vL, vkD, vib))
                h[0, 0] += _dot(vL, L)
                h[0, 1] += _dot(vL, kD) + _dot(ws, D) - _wsum(wr, iT)
                h[0, 2] += sum_vL / a
                h[0, 3] -= _dot(vL, ib)
                h[1, 1] += _dot(vkD, kD) + _dot(ws * k, it * it - iT * iT) + _dot(wk_iT, iT)
                h[1, 2] += sum_vkD / a
                h[1, 3] -= _dot(vkD, ib)
                h[2, 2] += (sum_v - sum_ws) / (a * a)
                h[2, 3] -= sum_vib / a
                h[3, 3] += _dot(vib, ib) + _dot(ws_by_x, ib_u * ib_u)
        self.log_likelihood = float(ll)
        params = np.array([r, alpha, a, b])
        value = -ll / n + self.penalizer * _dot(params, params)
        # Chain rule to log-parameters.
        grad = -g * params / n + 2.0 * self.penalizer * params * params
        if not hessian:
            return float(value), grad, None
        tg_ab = _trigamma(a + b) - _trigamma(a + b + ux)
        h[0, 0] += _dot(uc, _trigamma(r + ux) - _trigamma(r))
        h[0, 1] += n / alpha
        h[1, 1] -= n * r / (alpha * alpha)
        h[2, 2] += _dot(uc, tg_ab)
        h[2, 3] += _dot(uc, tg_ab)
        h[3, 3] += _dot(uc, tg_ab + _trigamma(b + ux) - _trigamma(b))
        h = np.triu(h) + np.triu(h, 1).T
        hess = -(h * np.outer(params, params) + np.diag(g * params)) / n
        hess += np.diag(4.0 * self.penalizer * params * params)
        return float(value), grad, hess


def _minimize(
    objective: _Objective, n_params: int, max_iterations: int, what: str
) -> tuple[Float, int]:
    """Run BFGS from all-ones parameters (Newton after it if need be); raise ClvDataError unless
    an optimum is reached."""
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        res = minimize(
            objective,
            np.zeros(n_params),
            jac=True,
            method="BFGS",
            options={"gtol": 1e-9, "maxiter": max_iterations},
        )
        grad_norm = float(np.abs(objective(res.x)[1]).max())
    res_finite = bool(np.isfinite(res.fun) and np.isfinite(res.x).all())
    if res_finite and (res.success or grad_norm <= _GRAD_TOL):
        return res.x, int(res.nit)
    # BFGS stops on "precision loss" where the likelihood is nearly flat along a direction
    # (a -> 0 or a and b growing together: steady buyers who hardly drop out), short of its
    # gradient tolerance in the other parameters. Newton's method in the well-determined
    # directions, from where it stopped, finishes the fit if the flat ones' gradient is nil.
    # Failing that, the point is kept when what a Newton step could still gain (the Newton
    # decrement, -g.step) is below the objective's own rounding: with parameters in the
    # millions (a and b, or Gamma-Gamma's q and v) the objective is a difference of
    # log-gammas of ~p ln p ~ 1e7-1e8, exact only to a few ulps of that, so no optimiser can
    # tell a better point from this one (BFGS's line search fails on that noise).
    found = _newton(objective, res.x, max_iterations, _ridge_step) if res_finite else None
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        if found is not None and not float(np.abs(objective(found[0])[1]).max()) <= _GRAD_TOL:
            found = None
        if found is None and res_finite:
            value, grad, hess = objective.evaluate(res.x, hessian=True)
            step = _ridge_step(hess, grad) if hess is not None and np.isfinite(hess).all() else None
            p = np.exp(res.x)
            rounding = _ROUNDING * max(1.0, abs(value), float(np.max(p * np.abs(res.x))))
            if step is not None and -_dot(grad, step) <= rounding:
                found = (res.x, 0)
    if found is None:
        raise ClvDataError(
            "not_converged",
            f"the {what} fit did not converge ({res.message}); the data may be too irregular "
            "for the model, or try a small penalizer",
        )
    return found[0], int(res.nit) + found[1]


def _check_population(x: Float, T: Float, min_repeaters: int) -> None:
    """Raise a ClvDataError for the data shapes the BG/NBD model cannot be fitted to."""
    n = x.shape[0]
    if n == 0:
        raise ClvDataError("no_customers", "there are no customers with orders to learn from")
    if n == 1:
        raise ClvDataError("one_customer", "one customer is not enough to learn a pattern")
    n_rep = int((x > 0).sum())
    if n_rep == 0 and T.min() == T.max():
        raise ClvDataError(
            "all_orders_one_day",
            "all orders were placed on the same day, so there is no buying pattern yet",
        )
    if n_rep == 0:
        raise ClvDataError(
            "no_repeat_customers", "no customer has bought on two different days yet"
        )
    if n_rep < min_repeaters:
        raise ClvDataError(
            "too_few_repeat_customers",
            f"only {n_rep} customers have bought on two different days; at least "
            f"{min_repeaters} are needed for a trustworthy forecast",
            value=n_rep,
        )


def fit_bgnbd(
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    *,
    penalizer: float = 0.0,
    min_repeat_customers: int = MIN_REPEAT_CUSTOMERS,
    max_iterations: int = 500,
) -> BgNbdFit:
    """Fit BG/NBD by maximum likelihood on log-parameters (analytic gradient and Hessian).

    BFGS from all-ones parameters, except on many distinct rows: there BFGS fits a strided
    sample and Newton's method, with the exact Hessian, takes that optimum to the full data's
    (3 to 5 evaluations over every row instead of ~30); BFGS on the full data if Newton fails.
    """
    xa, ta, Ta = _as_arrays(x, t_x, T)
    _check_population(xa, Ta, min_repeat_customers)
    # Time is rescaled so max T = 1 (conditioning); alpha scales back, as lifetimes does, so
    # the penalizer means the same thing in both.
    scale = float(Ta.max())
    theta, nit, objective = _fit(
        lambda k: _BgNbdObjective(xa[::k], ta[::k] / scale, Ta[::k] / scale, penalizer),
        xa.shape[0],
        4,
        max_iterations,
        "BG/NBD",
    )
    r, alpha, a, b = np.exp(theta)
    params = BgNbdParams(r=float(r), alpha=float(alpha * scale), a=float(a), b=float(b))
    # On the original time scale each repeat purchase's density is 1/scale times smaller.
    ll = objective.log_likelihood - float(np.log(scale)) * float(xa.sum())
    return BgNbdFit(params, ll, int(xa.shape[0]), int((xa > 0).sum()), nit)


class _Objective(Protocol):
    """A mean negative log-likelihood on log-parameters (BG/NBD or Gamma-Gamma)."""

    rows: int
    log_likelihood: float

    def __call__(self, theta: Float) -> tuple[float, Float]: ...

    def evaluate(self, theta: Float, *, hessian: bool) -> tuple[float, Float, Float | None]: ...


def _fit(
    build: Callable[[int], _Objective], n_rows: int, n_params: int, max_iterations: int, what: str
) -> tuple[Float, int, _Objective]:
    """The optimum of build(1) (the objective on every row), its iterations and the objective.

    The objective's last evaluation is at the optimum (BFGS: `_minimize` checks its gradient
    there) or 1e-9 from it in every log-parameter (Newton's last step, where the
    log-likelihood differs by ~n * 1e-18), so its log_likelihood is the fit's.

    build(k) is the objective on every k-th row. On more than _NEWTON_ROWS distinct rows BFGS
    fits a strided sample of _WARM_SAMPLE rows and Newton's method, with the exact Hessian,
    takes that optimum to the full data's (3 to 5 evaluations over every row instead of
    ~20-30); BFGS on the full data if Newton fails.
    """
    objective = build(1)
    if objective.rows > _NEWTON_ROWS:
        try:
            start, nit_sample = _minimize(
                build(n_rows // _WARM_SAMPLE), n_params, max_iterations, what
            )
        except ClvDataError:
            start, nit_sample = np.zeros(n_params), 0
        found = _newton(objective, start, max_iterations)
        if found is not None:
            return found[0], found[1] + nit_sample, objective
    return (*_minimize(objective, n_params, max_iterations, what), objective)


# Newton from a sample's optimum is used when the fit has more distinct rows than this.
_NEWTON_ROWS = 200_000
_WARM_SAMPLE = 50_000


def _cholesky_step(hess: Float, grad: Float) -> Float | None:
    """The Newton step; None unless the Hessian is positive definite."""
    try:
        return -cho_solve(cho_factor(hess), grad)
    except np.linalg.LinAlgError:
        return None


def _ridge_step(hess: Float, grad: Float) -> Float | None:
    """The Newton step in the Hessian's well-determined directions only.

    Where the likelihood is flat along a direction (a -> 0 and b -> infinity: no dropout, the
    optimum at the model's boundary) its curvature is ~1e-12 of the largest and a full step
    along it is meaningless; the step is taken in the directions whose eigenvalue is above
    1e-9 of the largest. None when a direction curves down (not a minimum).
    """
    values, vectors = np.linalg.eigh(hess)
    top = float(values[-1])
    if not top > 0 or float(values[0]) < -1e-9 * top:
        return None
    keep = values > 1e-9 * top
    along = vectors[:, keep]
    return -(along @ ((along.T @ grad) / values[keep]))


def _newton(
    objective: _Objective,
    theta: Float,
    max_steps: int,
    solve: Callable[[Float, Float], Float | None] = _cholesky_step,
) -> tuple[Float, int] | None:
    """Newton's method with backtracking from theta; None unless it converges.

    Stops when the step is below 1e-9 in every log-parameter (relative 1e-9 in the parameters,
    where the next step would be ~1e-18). None when the Hessian is not positive definite (for
    `solve`) or a step cannot be made to decrease the objective: the caller falls back to BFGS.
    """
    with np.errstate(over="ignore", invalid="ignore", divide="ignore"):
        value, grad, hess = objective.evaluate(theta, hessian=True)
        for step in range(1, max_steps + 1):
            if hess is None or not (np.isfinite(value) and np.isfinite(hess).all()):
                return None
            delta = solve(hess, grad)
            if delta is None or not np.isfinite(delta).all():
                return None
            if float(np.abs(delta).max()) < 1e-9:
                return theta + delta, step
            t = 1.0
            while True:
                trial = theta + t * delta
                new_value, new_grad, new_hess = objective.evaluate(trial, hessian=True)
                # Rounding in a mean over a million rows is ~1e-15 relative: allow it.
                slack = 1e-13 * abs(value)
                if new_value <= value + 1e-4 * t * _dot(grad, delta) + slack:
                    break
                t *= 0.5
                if t < 1e-3:
                    return None
            theta, value, grad, hess = trial, new_value, new_grad, new_hess
    return None


def p_alive(params: BgNbdParams, x: ArrayLike, t_x: ArrayLike, T: ArrayLike) -> Float:
    """P(alive at T | x, t_x, T) (Hardie's note 021); 1 for customers with no repeat purchase."""
    return _p_alive(params, *_as_arrays(x, t_x, T))


def _p_alive(params: BgNbdParams, x: Float, t_x: Float, T: Float) -> Float:
    return np.where(x > 0, expit(-_log_div(params, x, t_x, T)), 1.0)


def expected_purchases(
    params: BgNbdParams, t: ArrayLike, x: ArrayLike, t_x: ArrayLike, T: ArrayLike
) -> Float:
    """E[purchases in (T, T+t] | x, t_x, T] (paper eq. 10), computed stably."""
    xa, ta, Ta = _as_arrays(x, t_x, T)
    tt = np.asarray(t, dtype=np.float64)
    if tt.ndim == 0 and xa.ndim == 1:
        (alive,) = _expected_if_alive_at(params, [float(tt)], xa, Ta)
    else:
        alive = _expected_if_alive(params, tt, xa, Ta)
    return alive * _p_alive(params, xa, ta, Ta)


def _expected_if_alive(params: BgNbdParams, t: ArrayLike, x: Float, T: Float) -> Float:
    """E[purchases in (T, T+t] | alive at T, x, T]: the numerator of eq. 10 (1/P(alive) below).

    Fast path: the closed form, Euler-transformed. Where it cancels or overflows (a near 1, a
    removable singularity of c/(a-1); huge a + b, where hyp2f1 overflows; c <= 0 near its
    poles) the same expectation is computed by Gauss-Jacobi quadrature (`_expected_by_quadrature`),
    which holds over the whole parameter space. Never NaN or inf for finite positive parameters.
    """
    r, alpha, a, b = params.r, params.alpha, params.a, params.b
    tb, xb, Tb = np.broadcast_arrays(np.asarray(t, dtype=np.float64), x, T)
    z = tb / (alpha + Tb + tb)
    # Eq. 10 holds ((alpha+T)/(alpha+T+t))^(r+x) * 2F1(r+x, b+x; a+b+x-1; z). Euler's
    # transformation turns it into (1-z)^(a-1) * 2F1(a+b-1-r, a-1; a+b+x-1; z), whose
    # parameters do not grow with x, so hyp2f1 neither overflows nor loses accuracy for
    # heavy buyers; expm1 keeps 1 - (...) accurate when t is small.
    c = a + b + xb - 1.0
    if abs(a - 1.0) < _NEAR_ONE or a + b > _LARGE_AB:
        closed = np.full(z.shape, np.nan)
        log_h = closed
    else:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            log_h = (a - 1.0) * np.log1p(-z) + np.log(hyp2f1(a + b - 1.0 - r, a - 1.0, c, z))
            closed = c / (a - 1.0) * -np.expm1(log_h)
    # c near or below 0 (a + b < 1, no repeat purchase) sits next to hyp2f1's poles; a small
    # |log_h| (r -> 0, tiny t) means log(hyp2f1) of a number next to 1: about 16 + log10|log_h|
    # digits are left, too few below 1e-3.
    with np.errstate(invalid="ignore"):
        redo = ~(np.isfinite(closed) & (closed >= 0.0)) | (c < 0.5) | (np.abs(log_h) < 1e-3)
    if redo.any():
        closed = np.array(closed, dtype=np.float64)
        closed[redo] = _expected_by_quadrature(params, tb[redo], xb[redo], Tb[redo])
    return closed


def _expected_if_alive_at(
    params: BgNbdParams, ts: Sequence[float], x: Float, T: Float
) -> list[Float]:
    """`_expected_if_alive` at several horizons ts: one array per horizon, the same values."""
    return list(_expected_if_alive_sums(params, ts, np.eye(len(ts)), x, T))


def _expected_if_alive_sums(
    params: BgNbdParams, ts: Sequence[float], weights: ArrayLike, x: Float, T: Float
) -> Float:
    """sum over k of weights[j, k] * `_expected_if_alive`(t = ts[k]), one row per j.

    hyp2f1 costs ~1 us a value; 13 horizons (90 days, 12 months) of 1M distinct customers
    (continuous times) would spend most of the CLV time in it. Its parameters depend on x
    only, and given x the closed form is a smooth function of s = log((alpha+T+t)/(alpha+T))
    alone, so for each x with many (customer, horizon) pairs log_h(s)/s is tabulated exactly
    (hyp2f1 at _GRID + 1 points spanning that x's s range) and read back by linear
    interpolation: the error is below 1e-8 relative (tests/analytics/test_clv_grid.py compares
    it with the direct values). Customers are taken in order of x (a radix sort of the x
    codes), so each x is a contiguous slice, and the weighted sums are accumulated there. A
    table is used only when every value read from it is finite, of the right sign and with
    |log_h| >= 1e-3 (checked on the table itself: log_h = q s with q between two table
    values); otherwise that x is computed directly, as `_expected_if_alive` does.
    """
    alpha, a, b = params.alpha, params.a, params.b
    w = np.asarray(weights, dtype=np.float64).reshape(-1, len(ts))
    n = x.shape[0]
    out = np.zeros((w.shape[0], n))
    if abs(a - 1.0) < _NEAR_ONE or a + b > _LARGE_AB or n * len(ts) < 4 * _GRID:
        for k, t in enumerate(ts):
            out += w[:, k, None] * _expected_if_alive(params, np.array(t), x, T)
        return out
    ux, code = _distinct_counts(x)
    order = np.argsort(code.astype(np.int16) if ux.shape[0] < 1 << 15 else code, kind="stable")
    ends = np.cumsum(np.bincount(code, minlength=ux.shape[0]))
    x_sorted, T_sorted = x[order], T[order]
    u_sorted = 1.0 / (alpha + T_sorted)
    acc = np.zeros((w.shape[0], n))
    direct = np.zeros(n, dtype=bool)
    t_lo, t_hi = min(ts), max(ts)
    lo = 0
    for bx, hi in zip(ux, ends, strict=True):
        part = slice(lo, int(hi))
        lo = int(hi)
        u = u_sorted[part]
        table = None
        if u.shape[0] * len(ts) >= 4 * _GRID:
            table = _log_h_table(params, float(bx), float(u.min()) * t_lo, float(u.max()) * t_hi)
        if table is None:
            direct[part] = True
            continue
        q_tab, dq_tab, s_lo, inv_step = table
        scale = -(a + b + bx - 1.0) / (a - 1.0)  # closed = -c/(a-1) * expm1(log_h)
        s = np.empty(u.shape[0])
        pos = np.empty(u.shape[0])
        q = np.empty(u.shape[0])
        for k, t in enumerate(ts):
            np.multiply(u, t, out=s)
            np.log1p(s, out=s)
            np.multiply(s, inv_step, out=pos)
            pos -= s_lo * inv_step
            i = pos.astype(np.int64)
            pos -= i  # the fraction of the cell
            np.take(dq_tab, i, out=q)
            q *= pos
            q += q_tab[i]
            q *= s  # log_h
            np.expm1(q, out=q)
            for j in np.flatnonzero(w[:, k]):
                acc[j, part] += (scale * w[j, k]) * q
    if direct.any():
        # The x values without a table, together: one hyp2f1 pass per horizon.
        where = np.flatnonzero(direct)
        for k, t in enumerate(ts):
            values = _expected_if_alive(params, np.array(t), x_sorted[where], T_sorted[where])
            acc[:, where] += w[:, k, None] * values
    out[:, order] = acc
    return out


def _log_h_table(
    params: BgNbdParams, bx: float, v_lo: float, v_hi: float
) -> tuple[Float, Float, float, float] | None:
    """q = log_h(s)/s at _GRID + 1 points over s in [log1p(v_lo), log1p(v_hi)], or None.

    Returns (q, its differences with a 0 appended, s_lo, 1/step); None where a value read
    back from it could be non-finite, negative or within 1e-3 of log_h = 0 (where the closed
    form loses digits), or c = a+b+x-1 < 0.5 (next to hyp2f1's poles).
    """
    r, a, b = params.r, params.a, params.b
    c = a + b + bx - 1.0
    s_lo, s_hi = float(np.log1p(v_lo)), float(np.log1p(v_hi))
    if c < 0.5 or not 0.0 < s_lo < s_hi:
        return None
    grid = np.linspace(s_lo, s_hi, _GRID + 1)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        log_h = (1.0 - a) * grid + np.log(hyp2f1(a + b - 1.0 - r, a - 1.0, c, -np.expm1(-grid)))
    q = log_h / grid
    # A value read back is q s with q between two neighbouring table values and s in range.
    # closed = c/(a-1) * -expm1(q s) >= 0 needs q of the sign opposite to a-1.
    if not np.isfinite(q).all() or not ((a - 1.0) * q < 0.0).all():
        return None
    if float(np.abs(q).min()) * s_lo < 1e-3 or float(np.abs(q).max()) * s_hi > 700.0:
        return None
    step = (s_hi - s_lo) / _GRID
    return q, np.append(np.diff(q), 0.0), s_lo, 1.0 / step


# Grid intervals per distinct x for `_expected_if_alive_at` (q = log_h/s is smooth in s).
_GRID = 4096
# The closed form's c/(a-1) loses about 16 + log10|a-1| digits; within this of 1 it is not used.
_NEAR_ONE = 1e-3
# Beyond this a + b, hyp2f1's first parameter is so large that it overflows or loses accuracy.
_LARGE_AB = 1e3


def _expected_by_quadrature(params: BgNbdParams, t: Float, x: Float, T: Float) -> Float:
    """E over p ~ Beta(a, b+x) of (1 - (1 + p t/(alpha+T))^-(r+x)) / p, by Gauss-Jacobi.

    Given alive at T with x repeat purchases, lambda ~ Gamma(r+x, alpha+T) and p ~ Beta(a, b+x)
    independently; E[purchases in t | lambda, p] = (1 - exp(-lambda p t)) / p (paper eq. 7), and
    averaging over lambda gives the integrand. It is bounded by (r+x) u and analytic on [0, 1];
    its one singularity is at p = -1/u, so the node count grows with u = t/(alpha+T) until the
    Bernstein-ellipse bound is below double precision.
    """
    out = np.empty(t.shape[0])
    k_all = params.r + x
    u_all = t / (params.alpha + T)
    for bx in np.unique(x):
        rows = np.flatnonzero(x == bx)
        u_max = float(u_all[rows].max())
        s0 = 1.0 + 2.0 / max(u_max, 1e-300)
        rho = s0 + np.sqrt(s0 * s0 - 1.0)
        n = int(np.clip(np.ceil(19.0 / np.log(rho)), 24, 1024)) if np.isfinite(rho) else 24
        nodes, weights = _beta_nodes(params.a, params.b + bx, n)
        for start in range(0, rows.shape[0], 4096):
            chunk = rows[start : start + 4096]
            u, k = u_all[chunk, None], k_all[chunk, None]
            # Where b + x dwarfs a, the lowest nodes round to p = 0, where the integrand's
            # limit is (r+x) u: 0/0 there would make the whole sum NaN.
            with np.errstate(divide="ignore", invalid="ignore"):
                g = np.where(nodes > 0, -np.expm1(-k * np.log1p(u * nodes)) / nodes, k * u)
            out[chunk] = g @ weights
    return out


def _beta_nodes(a: float, b: float, n: int) -> tuple[Float, Float]:
    """Gauss nodes and weights (summing to 1) for the Beta(a, b) distribution on [0, 1].

    Golub-Welsch on the Jacobi recurrence with (alpha, beta) = (b-1, a-1): the weights come from
    the eigenvectors, so no gamma function of a huge a or b is ever formed.
    """
    al, be = b - 1.0, a - 1.0
    k = np.arange(n, dtype=np.float64)
    s = 2.0 * k + al + be
    with np.errstate(divide="ignore", invalid="ignore"):
        diag = (be * be - al * al) / (s * (s + 2.0))
    diag[0] = (be - al) / (al + be + 2.0)
    k1 = k[1:]
    s1 = 2.0 * k1 + al + be
    # Written as products of ratios so that huge a and b neither overflow nor cancel.
    off2 = (
        4.0
        * (k1 / s1)
        * ((k1 + al) / s1)
        * ((k1 + be) / (s1 + 1.0))
        * ((k1 + al + be) / (s1 - 1.0))
    )
    if n > 1:
        # k = 1 has 0/0 when a + b = 1; its limit cancels (1 + al + be).
        off2[0] = 4.0 * (1.0 + al) * (1.0 + be) / ((2.0 + al + be) ** 2 * (3.0 + al + be))
    values, vectors = eigh_tridiagonal(diag, np.sqrt(off2))
    weights = vectors[0] ** 2
    return (values + 1.0) / 2.0, weights / weights.sum()


def expected_purchases_new_customer(params: BgNbdParams, t: ArrayLike) -> Float:
    """E[X(t)] for a customer just acquired (paper eq. 9)."""
    tt = np.asarray(t, dtype=np.float64)
    zero = np.zeros_like(tt)
    return expected_purchases(params, tt, zero, zero, zero)


def prob_any_purchase(
    params: BgNbdParams, t: ArrayLike, x: ArrayLike, t_x: ArrayLike, T: ArrayLike
) -> Float:
    """P(at least one purchase in (T, T+t] | x, t_x, T).

    A customer dies only right after a purchase, so she buys in (T, T+t] exactly when she is
    alive at T and her Poisson clock ticks before T+t. Given alive, the likelihood in lambda is
    lambda^x exp(-lambda T), so lambda | alive ~ Gamma(r+x, alpha+T) and
    P = P(alive) * (1 - ((alpha+T)/(alpha+T+t))^(r+x)).
    """
    xa, ta, Ta = _as_arrays(x, t_x, T)
    tt = np.asarray(t, dtype=np.float64)
    log_none = (params.r + xa) * np.log1p(-tt / (params.alpha + Ta + tt))
    return _p_alive(params, xa, ta, Ta) * -np.expm1(log_none)


# --- Gamma-Gamma ----------------------------------------------------------------------------


def gamma_gamma_log_likelihood(
    params: GammaGammaParams, x: ArrayLike, monetary: ArrayLike
) -> Float:
    """Per-customer Gamma-Gamma log-likelihood of the mean repeat spend (note 025, eq. 1a)."""
    xa = np.asarray(x, dtype=np.float64)
    m = np.asarray(monetary, dtype=np.float64)
    p, q, g = params.p, params.q, params.gamma
    px = p * xa
    return (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(g)
        + (px - 1.0) * np.log(m)
        + px * np.log(xa)
        - (px + q) * np.log(xa * m + g)
    )


class _GammaGammaObjective:
    """Mean negative log-likelihood of Gamma-Gamma on log-parameters, gradient and Hessian."""

    def __init__(self, x: Float, m: Float, penalizer: float) -> None:
        self.n = x.shape[0]
        self.rows = self.n
        self.ux, code = _distinct_counts(x)
        self.uc = np.bincount(code, minlength=self.ux.shape[0]).astype(np.float64)
        self.x, self.xm = x, x * m
        self.sum_x = float(x.sum())
        self.sum_log_m = float(np.log(m).sum())
        self.sum_x_log_xm = _dot(x, np.log(self.xm))
        self.penalizer = penalizer
        self.log_likelihood = float("nan")  # total, at the last point evaluated

    def __call__(self, theta: Float) -> tuple[float, Float]:
        value, grad, _ = self.evaluate(theta, hessian=False)
        return value, grad

    def evaluate(self, theta: Float, *, hessian: bool) -> tuple[float, Float, Float | None]:
        """Objective, gradient and (when asked) Hessian, all in log-parameters."""
        p, q, g = np.exp(theta)  # numpy scalars: 1/0 is inf, not an exception
        n, ux, uc = self.n, self.ux, self.uc
        pxq = p * ux + q
        xmg = self.xm + g
        lg = np.log(xmg)
        inv = np.reciprocal(xmg, out=xmg)
        sum_lg, sum_x_lg = float(lg.sum()), _dot(self.x, lg)
        sum_inv, sum_x_inv = float(inv.sum()), _dot(self.x, inv)
        ll = (
            _dot(uc, gammaln(pxq) - gammaln(p * ux))
            - n * gammaln(q)
            + n * q * np.log(g)
            + p * self.sum_x_log_xm  # (p x - 1) log m + p x log x, summed
            - self.sum_log_m
            - p * sum_x_lg
            - q * sum_lg
        )
        grad_ll = np.array(
            [
                _dot(uc * ux, digamma(pxq) - digamma(p * ux)) + self.sum_x_log_xm - sum_x_lg,
                _dot(uc, digamma(pxq)) - n * digamma(q) + n * np.log(g) - sum_lg,
                n * q / g - p * sum_x_inv - q * sum_inv,
            ]
        )
        self.log_likelihood = float(ll)
        params = np.array([p, q, g])
        value = -ll / n + self.penalizer * _dot(params, params)
        grad = -grad_ll * params / n + 2.0 * self.penalizer * params * params
        if not hessian:
            return float(value), grad, None
        tg = _trigamma(pxq)
        h = np.zeros((3, 3))
        h[0, 0] = _dot(uc * ux * ux, tg - _trigamma(p * ux))
        h[0, 1] = _dot(uc * ux, tg)
        h[0, 2] = -sum_x_inv
        h[1, 1] = _dot(uc, tg) - n * float(_trigamma(q))
        h[1, 2] = n / g - sum_inv
        h[2, 2] = -n * q / (g * g) + p * _dot(self.x, inv * inv) + q * _dot(inv, inv)
        h = np.triu(h) + np.triu(h, 1).T
        hess = -(h * np.outer(params, params) + np.diag(grad_ll * params)) / n
        hess += np.diag(4.0 * self.penalizer * params * params)
        return float(value), grad, hess


def fit_gamma_gamma(
    x: ArrayLike,
    monetary: ArrayLike,
    *,
    penalizer: float = 0.0,
    min_customers: int = MIN_REPEAT_CUSTOMERS,
    max_iterations: int = 500,
) -> GammaGammaFit:
    """Fit Gamma-Gamma on repeat customers (x > 0) by maximum likelihood on log-parameters."""
    xa = np.asarray(x, dtype=np.float64)
    m = np.asarray(monetary, dtype=np.float64)
    if xa.shape != m.shape or xa.ndim != 1:
        raise ClvDataError("invalid_input", "x and monetary must be 1-D and equally long")
    if (xa <= 0).any() or (xa != np.round(xa)).any():
        raise ClvDataError(
            "invalid_input", "Gamma-Gamma is fitted on repeat customers only (whole x > 0)"
        )
    bad = np.flatnonzero(~(m > 0))
    if bad.size:
        raise ClvDataError(
            "non_positive_spend",
            f"customer {bad[0]} has a mean repeat spend of {m[bad[0]]}; spend must be positive",
            row=int(bad[0]),
            value=float(m[bad[0]]),
        )
    if xa.shape[0] < min_customers:
        raise ClvDataError(
            "too_few_repeat_customers",
            f"only {xa.shape[0]} repeat customers with spend; at least {min_customers} are "
            "needed to learn typical order values",
            value=int(xa.shape[0]),
        )
    # Money is rescaled to mean 1 for conditioning; gamma scales back, the log-likelihood
    # picks up the Jacobian -n log(scale), recomputed below on the original scale.
    scale = float(m.mean())
    theta, nit, objective = _fit(
        lambda k: _GammaGammaObjective(xa[::k], m[::k] / scale, penalizer),
        xa.shape[0],
        3,
        max_iterations,
        "Gamma-Gamma",
    )
    p, q, g = np.exp(theta)
    params = GammaGammaParams(p=float(p), q=float(q), gamma=float(g * scale))
    ll = objective.log_likelihood - xa.shape[0] * float(np.log(scale))
    return GammaGammaFit(params, ll, int(xa.shape[0]), nit)


def expected_aov(params: GammaGammaParams, x: ArrayLike, monetary: ArrayLike) -> Float:
    """E[average order value | x, mean repeat spend] (note 025, eq. 5); population mean at x=0."""
    xa = np.asarray(x, dtype=np.float64)
    m = np.asarray(monetary, dtype=np.float64)
    p, q, g = params.p, params.q, params.gamma
    # Weighted mean of the population mean g p/(q-1) and the customer's own mean m, with
    # weight p x / (p x + q - 1) on m; written over one denominator.
    return (g * p + p * xa * m) / (p * xa + q - 1.0)


# --- CLV ------------------------------------------------------------------------------------


def customer_lifetime_value(
    params: BgNbdParams,
    x: ArrayLike,
    t_x: ArrayLike,
    T: ArrayLike,
    aov: ArrayLike,
    *,
    months: int = 12,
    monthly_discount: float = 0.01,
    units_per_month: float = DAYS_PER_MONTH / 7.0,
) -> Float:
    """Sum over months m of E[orders in month m] * aov / (1 + d)^m, as lifetimes computes it."""
    xa, ta, Ta = _as_arrays(x, t_x, T)
    (discounted,) = _if_alive_forecast(
        params,
        xa,
        Ta,
        [],
        months=months,
        monthly_discount=monthly_discount,
        units_per_month=units_per_month,
    )
    return discounted * _p_alive(params, xa, ta, Ta) * np.asarray(aov, dtype=np.float64)


def _if_alive_forecast(
    params: BgNbdParams,
    x: Float,
    T: Float,
    horizons: Sequence[float],
    *,
    months: int,
    monthly_discount: float,
    units_per_month: float,
) -> list[Float]:
    """Given alive: the discounted orders of the CLV sum, then E[orders] at each horizon.

    sum over months m of (E_m - E_{m-1}) / (1+d)^m = sum of E_m (v_m - v_{m+1}), v_m the
    discount factor of month m and v_{months+1} = 0; so every horizon is one weighted term of
    one pass over the customers. The values depend on (x, T) only: computed once per pair.
    """
    grouped = _group(x, T)
    xu, Tu = (x, T) if grouped is None else (x[grouped[0]], T[grouped[0]])
    ts = [month * units_per_month for month in range(1, months + 1)] + list(horizons)
    factor = (1.0 + monthly_discount) ** -np.arange(1.0, months + 2.0)
    factor[-1] = 0.0
    weights = np.zeros((1 + len(horizons), len(ts)))
    weights[0, :months] = factor[:-1] - factor[1:]
    for k in range(len(horizons)):
        weights[1 + k, months + k] = 1.0
    sums = _expected_if_alive_sums(params, ts, weights, xu, Tu)
    return [row if grouped is None else row[grouped[1]] for row in sums]


def holdout_comparison(
    summary: Summary, params: BgNbdParams, *, max_x: int = 7
) -> dict[str, NDArray[Any]]:
    """Mean actual vs predicted holdout purchases by calibration repeat count (paper Fig. 3)."""
    if summary.holdout_x is None or summary.holdout_end is None or summary.calibration_end is None:
        raise ClvDataError("no_holdout", "the summary was built without a holdout_end")
    days = (summary.holdout_end - summary.calibration_end).astype(np.int64)
    predicted = expected_purchases(
        params, days / summary.freq_days, summary.x, summary.t_x, summary.T
    )
    group = np.minimum(summary.x, max_x)
    n = np.bincount(group, minlength=max_x + 1)
    with np.errstate(invalid="ignore", divide="ignore"):
        return {
            "x": np.arange(max_x + 1),  # the last bucket is "max_x or more"
            "customers": n,
            "actual": np.bincount(group, weights=summary.holdout_x, minlength=max_x + 1) / n,
            "predicted": np.bincount(group, weights=predicted, minlength=max_x + 1) / n,
        }


def fit_clv(
    summary: Summary,
    *,
    months: int = 12,
    monthly_discount: float = 0.01,
    prediction_days: float = 90.0,
    days_per_month: float = DAYS_PER_MONTH,
    penalizer: float = 0.0,
    min_repeat_customers: int = MIN_REPEAT_CUSTOMERS,
) -> ClvResult:
    """Fit BG/NBD and Gamma-Gamma on a summary and predict P(alive), orders, AOV and CLV."""
    if summary.monetary.shape != summary.x.shape:
        raise ClvDataError("invalid_input", "monetary must have one value per customer")
    warnings: list[ClvWarning] = []
    bg = fit_bgnbd(
        summary.x,
        summary.t_x,
        summary.T,
        penalizer=penalizer,
        min_repeat_customers=min_repeat_customers,
    )
    if bg.n_repeaters < FEW_REPEAT_CUSTOMERS:
        warnings.append(
            ClvWarning(
                "few_repeat_customers",
                f"only {bg.n_repeaters} customers have bought twice; treat the forecast as rough",
                bg.n_repeaters,
            )
        )
    x = summary.x.astype(np.float64)
    repeat = x > 0
    spending = repeat & (summary.monetary > 0)
    if not spending.any():
        raise ClvDataError(
            "non_positive_spend", "no repeat customer has spent money on a repeat order"
        )
    if (repeat & ~spending).any():
        # Free repeat orders (gifts, fully discounted) say nothing about spend per order.
        n_free = int((repeat & ~spending).sum())
        warnings.append(
            ClvWarning(
                "zero_spend_left_out",
                f"{n_free} repeat customers with zero repeat spend were left out of the "
                "order-value model",
                n_free,
            )
        )
    gg = fit_gamma_gamma(
        x[spending],
        summary.monetary[spending],
        penalizer=penalizer,
        min_customers=min_repeat_customers,
    )
    gp = gg.params
    if gp.q > 1.0:
        aov = expected_aov(gp, x, np.maximum(summary.monetary, 0.0))
    else:
        # q <= 1: the population mean spend is infinite; fall back to observed means.
        warnings.append(
            ClvWarning(
                "spend_too_dispersed",
                "order values vary too wildly to model; using each customer's average spend",
            )
        )
        aov = np.where(spending, summary.monetary, summary.monetary[spending].mean())
    bp = bg.params
    # r, a and b are free of the time unit; running off to 0 or infinity means the data
    # cannot pin the model down.
    extreme = [k for k in ("r", "a", "b") if not 1e-4 < getattr(bp, k) < 1e4]
    if extreme:
        warnings.append(
            ClvWarning(
                "extreme_parameters",
                f"model parameters {', '.join(extreme)} are extreme; forecasts may be "
                "unreliable (a small penalizer can help)",
            )
        )
    t90 = prediction_days / summary.freq_days
    t_x, T = summary.t_x.astype(np.float64), summary.T.astype(np.float64)
    discounted, orders_if_alive = _if_alive_forecast(
        bp,
        x,
        T,
        [t90],
        months=months,
        monthly_discount=monthly_discount,
        units_per_month=days_per_month / summary.freq_days,
    )
    alive = _p_alive(bp, x, t_x, T)
    log_none = (bp.r + x) * np.log1p(-t90 / (bp.alpha + T + t90))
    predictions = {
        "p_alive": alive,
        "expected_orders_90d": orders_if_alive * alive,
        "p_order_90d": -np.expm1(log_none) * alive,
        "expected_aov": np.asarray(aov, dtype=np.float64),
        "predicted_clv": discounted * alive * aov,
    }
    _check_finite(bp, gp, predictions)
    return ClvResult(
        params={"r": bp.r, "alpha": bp.alpha, "a": bp.a, "b": bp.b, **vars(gp)},
        log_likelihood=bg.log_likelihood,
        gamma_gamma_log_likelihood=gg.log_likelihood,
        n_customers=bg.n_customers,
        n_repeaters=bg.n_repeaters,
        customer_ids=summary.customer_ids,
        **predictions,
        warnings=warnings,
    )


def _check_finite(bp: BgNbdParams, gp: GammaGammaParams, predictions: dict[str, Float]) -> None:
    """A degenerate fit (parameters at 0 or infinity, any forecast not a number) predicts nothing."""
    params = (bp.r, bp.alpha, bp.a, bp.b, gp.p, gp.q, gp.gamma)
    if not all(np.isfinite(v) and v > 0 for v in params):
        raise ClvDataError(
            "degenerate_fit", "the fitted model is degenerate (a parameter is 0 or infinite)"
        )
    for name, values in predictions.items():
        if not np.isfinite(values).all():
            raise ClvDataError(
                "degenerate_fit", f"the fitted model gives no finite {name} for some customers"
            )
