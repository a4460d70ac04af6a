"""Basket analysis (关联分析) and traffic vs profit items (流量款/利润款) (DESIGN §5)."""

from __future__ import annotations

import datetime as dt
from typing import Literal, NamedTuple

import polars as pl

from huitouke.analytics.frames import LINES, bought_lines, sort_packed, validate

__all__ = ["QUADRANT_LABELS_ZH", "BasketResult", "basket", "traffic_profit"]

Key = Literal["category_id", "product_id"]

QUADRANT_LABELS_ZH = {
    "star": "明星款",
    "traffic": "流量款",
    "profit": "利润款",
    "weak": "待观察款",
}


class BasketResult(NamedTuple):
    """Frequent pairs, and frequent triples when they were asked for."""

    pairs: pl.DataFrame
    triples: pl.DataFrame | None
    orders: int  # baskets counted: orders in the window with at least one keyed item


def _window(lines: pl.DataFrame, as_of: dt.date, start: dt.date, end: dt.date) -> pl.DataFrame:
    if end < start:
        raise ValueError(f"period ends ({end}) before it starts ({start})")
    lines = bought_lines(validate(lines, LINES), as_of)
    return lines.filter(pl.col("order_date").is_between(start, end))


def basket(
    lines: pl.DataFrame,
    as_of: dt.date,
    start: dt.date,
    end: dt.date,
    by: Key = "category_id",
    min_support: float = 0.01,
    triples: bool = False,
) -> BasketResult:
    """Support, confidence and lift of item pairs (and triples) bought in one order."""
    if by not in ("category_id", "product_id"):
        raise ValueError(f"by must be 'category_id' or 'product_id', got {by!r}")
    if not 0 < min_support <= 1:
        raise ValueError(f"min_support must be in (0, 1], got {min_support}")
    keyed = _window(lines, as_of, start, end).filter(pl.col(by).is_not_null())
    # Sorting a packed key and dropping repeated neighbours beats unique() several times over.
    items = sort_packed(keyed.select("order_id", item=by), ["order_id", "item"])
    oid, item = pl.col("order_id"), pl.col("item")
    items = items.filter(~((oid == oid.shift(1)) & (item == item.shift(1))).fill_null(False))
    n = items.select(pl.col("order_id").n_unique()).item()
    support = pl.col("orders_together") / n

    counts = items.group_by("item").agg(orders=pl.len().cast(pl.Int64))
    # Apriori pruning: an itemset is never more frequent than its rarest item, so infrequent
    # items are dropped before the self-join that could otherwise explode.
    frequent = counts.filter(pl.col("orders") / n >= min_support)
    kept = items.join(frequent.select("item"), on="item", how="semi")
    pair_rows = (
        kept.join(kept, on="order_id", suffix="_b")
        .filter(pl.col("item") < pl.col("item_b"))
        .select("order_id", a="item", b="item_b")
    )
    count_a = counts.select(a="item", orders_a="orders")
    count_b = counts.select(b="item", orders_b="orders")
    pairs = (
        pair_rows.group_by("a", "b")
        .agg(orders_together=pl.len().cast(pl.Int64))
        .filter(support >= min_support)
        .join(count_a, on="a")
        .join(count_b, on="b")
        .with_columns(
            support=support,
            confidence_ab=pl.col("orders_together") / pl.col("orders_a"),
            confidence_ba=pl.col("orders_together") / pl.col("orders_b"),
            lift=pl.col("orders_together") * n / (pl.col("orders_a") * pl.col("orders_b")),
        )
        .sort(["orders_together", "a", "b"], descending=[True, False, False])
    )
    if not triples:
        return BasketResult(pairs, None, n)

    frequent_pairs = pairs.select("a", "b")
    pair_in_order = pair_rows.join(frequent_pairs, on=["a", "b"], how="semi")
    candidates = (
        pair_in_order.join(kept.rename({"item": "c"}), on="order_id")
        .filter(pl.col("c") > pl.col("b"))
        .group_by("a", "b", "c")
        .agg(orders_together=pl.len().cast(pl.Int64))
        .filter(support >= min_support)
    )
    pair_counts = pairs.select("a", "b", "orders_together")

    def pair_count(x: str, y: str, name: str) -> pl.DataFrame:
        return pair_counts.rename({"a": x, "b": y, "orders_together": name})

    def rule(antecedent: str, consequent: str) -> dict[str, pl.Expr]:
        # {x, y} -> z: confidence = n(xyz) / n(xy); lift = confidence / support(z).
        confidence = pl.col("orders_together") / pl.col(f"orders_{antecedent}")
        return {
            f"confidence_{antecedent}_{consequent}": confidence,
            f"lift_{antecedent}_{consequent}": confidence * n / pl.col(f"orders_{consequent}"),
        }

    # Every subset of a frequent triple is frequent, so its pairs are all in `pairs`.
    triple_frame = (
        candidates.join(pair_count("a", "b", "orders_ab"), on=["a", "b"])
        .join(pair_count("a", "c", "orders_ac"), on=["a", "c"])
        .join(pair_count("b", "c", "orders_bc"), on=["b", "c"])
        .join(counts.select(a="item", orders_a="orders"), on="a")
        .join(counts.select(b="item", orders_b="orders"), on="b")
        .join(counts.select(c="item", orders_c="orders"), on="c")
        .with_columns(support=support, **rule("ab", "c"), **rule("ac", "b"), **rule("bc", "a"))
        .drop("orders_a", "orders_b", "orders_c")
        .sort(["orders_together", "a", "b", "c"], descending=[True, False, False, False])
    )
    return BasketResult(pairs, triple_frame, n)


def traffic_profit(
    lines: pl.DataFrame, as_of: dt.date, start: dt.date, end: dt.date
) -> pl.DataFrame:
    """Per product in [start, end]: buyers, margin rate and quadrant split at the medians.

    High means strictly above the median over products; a product with no positive net
    revenue has no margin rate and counts as low margin.
    """
    net, cost = pl.col("net_cents"), pl.col("cost_cents")
    per_product = (
        _window(lines, as_of, start, end)
        .group_by("product_id")
        .agg(
            buyers=pl.col("customer_id").n_unique().cast(pl.Int64),
            qty=pl.col("qty").sum(),
            revenue_cents=net.sum(),
            margin_cents=(net - cost).sum(),
        )
        .with_columns(
            margin_rate=pl.when(pl.col("revenue_cents") > 0).then(
                pl.col("margin_cents") / pl.col("revenue_cents")
            )
        )
    )
    many = pl.col("buyers") > pl.col("buyers").median()
    rich = (pl.col("margin_rate") > pl.col("margin_rate").median()).fill_null(False)
    return per_product.with_columns(
        quadrant=pl.when(many & rich)
        .then(pl.lit("star"))
        .when(many)
        .then(pl.lit("traffic"))
        .when(rich)
        .then(pl.lit("profit"))
        .otherwise(pl.lit("weak"))
    ).sort("product_id")
