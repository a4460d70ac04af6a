"""The tabulated closed form used for many horizons gives the direct hyp2f1 values.

`_expected_if_alive_at` (the weighted sums of `_expected_if_alive_sums` with one horizon per
row) reads log_h(s)/s from a table per repeat count when a count has enough (customer,
horizon) pairs; the direct `_expected_if_alive` (one hyp2f1 per value,
itself checked against mpmath in test_clv_numerics.py) is the reference here.
"""

from __future__ import annotations

import numpy as np
import pytest

from huitouke.analytics import clv

HORIZONS = [m * 30.4375 / 7 for m in range(1, 13)]


def customers(n: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    x = np.minimum(rng.geometric(0.45, n) - 1, 40).astype(np.float64)
    T = rng.uniform(0.2, 150.0, n)  # continuous: no two customers share T
    return x, T


@pytest.mark.parametrize(
    "params",
    [
        clv.BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426),  # CDNOW
        clv.BgNbdParams(r=0.5, alpha=2.0, a=1.8, b=0.4),
        clv.BgNbdParams(r=2.0, alpha=30.0, a=0.2, b=5.0),
        clv.BgNbdParams(r=0.01, alpha=0.5, a=0.6, b=0.3),  # c < 0.5 at x = 0: quadrature
    ],
)
def test_tabulated_values_equal_the_direct_ones(params: clv.BgNbdParams) -> None:
    x, T = customers(12_000, 5)
    # The zero-repeat group is big enough to be tabulated, the tail is computed directly.
    assert (x == 0).sum() * len(HORIZONS) >= 4 * clv._GRID
    assert ((x == 30).sum() * len(HORIZONS)) < 4 * clv._GRID
    got = clv._expected_if_alive_at(params, HORIZONS, x, T)
    for t, values in zip(HORIZONS, got, strict=True):
        want = clv._expected_if_alive(params, np.array(t), x, T)
        assert np.all(np.isfinite(values)) and np.all(values >= 0)
        np.testing.assert_allclose(values, want, rtol=1e-8, atol=0)


def test_expected_purchases_and_clv_unchanged_by_the_table() -> None:
    params = clv.BgNbdParams(r=0.243, alpha=4.414, a=0.793, b=2.426)
    x, T = customers(20_000, 9)
    t_x = np.where(x > 0, T * np.random.default_rng(1).uniform(0.1, 1.0, x.shape[0]), 0.0)
    direct = clv._expected_if_alive(params, np.array(90 / 7), x, T) * clv.p_alive(params, x, t_x, T)
    np.testing.assert_allclose(
        clv.expected_purchases(params, 90 / 7, x, t_x, T), direct, rtol=1e-8, atol=0
    )
    aov = np.full(x.shape[0], 100.0)
    ours = clv.customer_lifetime_value(params, x, t_x, T, aov)
    # The same sum month by month from the direct values.
    want = np.zeros(x.shape[0])
    previous = np.zeros(x.shape[0])
    for month in range(1, 13):
        cumulative = clv._expected_if_alive(params, np.array(month * clv.DAYS_PER_MONTH / 7), x, T)
        want += (cumulative - previous) / 1.01**month
        previous = cumulative
    want *= clv.p_alive(params, x, t_x, T) * aov
    np.testing.assert_allclose(ours, want, rtol=1e-8, atol=0)
