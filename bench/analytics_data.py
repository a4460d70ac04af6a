"""A synthetic shop for the analytics benchmark: N customers with about ten orders each.

Filling a million-customer database through the demo generator (the ORM, one order at a time)
takes most of an hour on a small machine; this loads the same tables with raw `executemany`
from NumPy arrays in a few minutes. The schema is the project's own (`huitouke migrate` in a
child process); secondary indexes of the order tables are dropped during the load and created
again afterwards, as a bulk loader would.

The data: 90% of customers have bought; a buyer's order count is 1 + Poisson(mean 10.5), so
there are about ten orders per customer (10.35; a million customers make the issue's 10M
counted orders); order times are uniform over the three years before
the as-of date and order ids follow time, as when a shop enters (or imports) its sales in
order; net amounts log-normal (median ¥300); 3% of orders refunded in full, 3% in part; one or
two lines per order over seven categories and 35 products. Four categories have a configured
repurchase cycle; one of them, 美容仪器 (beauty devices, 3% of lines), has a 180-day cycle that
lengthens its buyers' thresholds. Customer stats are then computed from the orders in SQL, as
`rebuild_stats` keeps them.
"""

from __future__ import annotations

import sqlite3
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import numpy as np

from benchlib import create_shop, day_start, migrate, utc_text

CATEGORIES = [
    ("护肤", 60),
    ("彩妆", None),
    ("洗护", 45),
    ("面膜", 30),
    ("香水", None),
    ("配饰", None),
    ("美容仪器", 180),
]
CATEGORY_SHARE = [0.22, 0.2, 0.15, 0.2, 0.1, 0.1, 0.03]
PRODUCTS_PER_CATEGORY = 5
CHUNK = 500_000


def _utc_texts(epoch_seconds: np.ndarray) -> list[str]:
    """Epoch seconds as Django's SQLite datetime text ('YYYY-MM-DD HH:MM:SS'), vectorised."""
    text = np.datetime_as_string(epoch_seconds.astype("datetime64[s]"), unit="s")
    return np.char.replace(text, "T", " ").tolist()


def _money(cents: np.ndarray) -> list[str]:
    """Integer cents as decimal text, as Django stores DecimalField values in SQLite."""
    return [f"{c // 100}.{c % 100:02d}" for c in cents.tolist()]


def load(db_path: Path, n: int, as_of: date, tz: ZoneInfo, seed: int = 20261202) -> dict[str, int]:
    """Fill one organisation with n customers, their orders and lines; return row counts."""
    rng = np.random.default_rng(seed)
    con = sqlite3.connect(db_path)
    con.execute("PRAGMA synchronous=OFF")
    con.execute("PRAGMA cache_size=-400000")
    now = utc_text(day_start(as_of, tz))
    org, store = create_shop(con, "基准美妆连锁", "cosmetics", tz.key, "静安店", now)
    categories, products = [], []
    for name, cycle in CATEGORIES:
        cat = con.execute(
            "INSERT INTO sales_category (name, cycle_days, organisation_id) VALUES (?, ?, ?)",
            (name, cycle, org),
        ).lastrowid
        categories.append(cat)
        for k in range(PRODUCTS_PER_CATEGORY):
            products.append(
                con.execute(
                    "INSERT INTO sales_product (sku, name, price, cost, use_cycle_days,"
                    " is_active, category_id, organisation_id)"
                    " VALUES (?, ?, '199.00', '80.00', NULL, 1, ?, ?)",
                    (f"{cat}-{k}", f"{name}{k + 1}号", cat, org),
                ).lastrowid
            )
    product_category = np.repeat(np.array(categories), PRODUCTS_PER_CATEGORY)
    product_ids = np.array(products)

    # Secondary indexes are rebuilt after the load (much faster than maintaining them per row).
    indexes = con.execute(
        "SELECT name, sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        " AND tbl_name IN ('customers_customer', 'sales_order', 'sales_orderline')"
    ).fetchall()
    for name, _ in indexes:
        con.execute(f'DROP INDEX "{name}"')

    created = _utc_texts(
        np.full(n, int(day_start(as_of, tz).timestamp()) - 3 * 365 * 86400 - 86400)
    )
    con.executemany(
        "INSERT INTO customers_customer (id, birthday_kind, birth_leap_month, external_id, name,"
        " salutation_override, phone, wechat_id, gender, ethnicity, city, address, email,"
        " source, notes, consent_sms, consent_email, consent_wechat, custom, created_at,"
        " updated_at, home_store_id, organisation_id, name_pinyin, name_initials) VALUES (?,"
        " 'solar', 0, '', ?, '', NULL, '', 'f', '', '', '', '', 'walk_in', '', 1, 0, 1, '{}', ?,"
        " ?, ?, ?, '', '')",
        ((i + 1, f"客户{i + 1}", created[i], created[i], store, org) for i in range(n)),
    )

    buyers = rng.random(n) < 0.9
    per_customer = np.where(buyers, 1 + rng.poisson(10.5, n), 0)
    customer_of_order = np.repeat(np.arange(1, n + 1), per_customer)
    total = len(customer_of_order)
    end = int((day_start(as_of, tz) + timedelta(days=1)).timestamp()) - 1
    start = end - 3 * 365 * 86400
    all_placed = rng.integers(start, end, total)
    by_time = np.argsort(all_placed, kind="stable")
    all_placed, customer_of_order = all_placed[by_time], customer_of_order[by_time]
    product_weight = np.repeat(
        np.array(CATEGORY_SHARE) / PRODUCTS_PER_CATEGORY, PRODUCTS_PER_CATEGORY
    )
    orders = lines = 0
    for lo in range(0, total, CHUNK):
        hi = min(lo + CHUNK, total)
        m = hi - lo
        ids = np.arange(lo + 1, hi + 1)
        placed = all_placed[lo:hi]
        net = np.maximum(100, np.round(rng.lognormal(np.log(30000), 0.7, m))).astype(np.int64)
        kind = rng.random(m)
        status = np.where(kind < 0.03, "refunded", "paid")
        refunded = np.where(kind > 0.97, net // 3, np.where(kind < 0.03, net, 0))
        cost = net * 2 // 5
        times = _utc_texts(placed)
        net_t, refunded_t, cost_t = _money(net), _money(refunded), _money(cost)
        refunded_cost_t = _money(np.where(kind < 0.03, cost, 0))
        con.executemany(
            "INSERT INTO sales_order (id, placed_at, status, gross_amount, discount_amount,"
            " coupon_amount, points_used, points_amount, net_paid, cost_amount, refunded_amount,"
            " refunded_cost, source, external_id, note, created_at, updated_at, customer_id,"
            " organisation_id, store_id) VALUES (?, ?, ?, ?, '0', '0', 0, '0', ?, ?, ?, ?,"
            " 'store', '', '', ?, ?, ?, ?, ?)",
            zip(
                ids.tolist(),
                times,
                status.tolist(),
                net_t,
                net_t,
                cost_t,
                refunded_t,
                refunded_cost_t,
                times,
                times,
                customer_of_order[lo:hi].tolist(),
                [org] * m,
                [store] * m,
                strict=True,
            ),
        )
        # One or two lines; the first carries the order's value, a second one ¥0-priced gift
        # keeps the money simple while giving baskets a pair.
        two = rng.random(m) < 0.35
        line_order = np.concatenate([ids, ids[two]])
        line_product = rng.choice(len(products), len(line_order), p=product_weight)
        price = np.concatenate([net, np.full(int(two.sum()), 0)])
        line_cost = np.concatenate([cost, np.full(int(two.sum()), 0)])
        con.executemany(
            "INSERT INTO sales_orderline (name, quantity, unit_price, unit_cost,"
            " refunded_quantity, category_id, order_id, product_id, import_key)"
            " VALUES ('', 1, ?, ?, 0, ?, ?, ?, '')",
            zip(
                _money(price),
                _money(line_cost),
                product_category[line_product].tolist(),
                line_order.tolist(),
                product_ids[line_product].tolist(),
                strict=True,
            ),
        )
        orders += m
        lines += len(line_order)
    con.commit()
    for _, sql in indexes:
        con.execute(sql)
    con.execute(
        "INSERT INTO customers_customerstats (customer_id, organisation_id, first_order_at,"
        " last_order_at, orders_count, net_spend, gross_margin, avg_order_value, spend_12m,"
        " last_order_categories, updated_at)"
        " SELECT c.id, c.organisation_id, MIN(o.placed_at), MAX(o.placed_at), COUNT(o.id),"
        " COALESCE(SUM(o.net_paid - o.refunded_amount), 0),"
        " COALESCE(SUM(o.net_paid - o.refunded_amount - o.cost_amount + o.refunded_cost), 0),"
        " COALESCE(ROUND(AVG(o.net_paid - o.refunded_amount), 2), 0), 0, '[]', ?"
        " FROM customers_customer c LEFT JOIN sales_order o"
        " ON o.customer_id = c.id AND o.status = 'paid' GROUP BY c.id",
        (now,),
    )
    set_last_visit_categories(con, tz)
    con.execute("ANALYZE")
    con.commit()
    con.close()
    return {"organisation": org, "customers": n, "orders": orders, "lines": lines}


def set_last_visit_categories(con: sqlite3.Connection, tz: ZoneInfo) -> None:
    """Stats' last_order_categories: the categories of every paid order on her last local date.

    The zone must keep one UTC offset over the data (Asia/Shanghai has had no DST since 1991),
    so SQLite's date(..., '+8 hours') gives the local date.
    """
    offsets = {
        tz.utcoffset(datetime(year, month, 1)) for year in range(2022, 2027) for month in (1, 7)
    }
    assert len(offsets) == 1, f"{tz.key} changes its UTC offset"
    hours = int(offsets.pop().total_seconds() // 3600)
    shift = f"{hours:+d} hours"
    con.execute(
        "UPDATE customers_customerstats AS s SET last_order_categories = ("
        " SELECT json_group_array(DISTINCT l.category_id) FROM sales_order o"
        " JOIN sales_orderline l ON l.order_id = o.id"
        " WHERE o.customer_id = s.customer_id AND o.status = 'paid'"
        " AND o.placed_at >= datetime(s.last_order_at, '-26 hours')"
        " AND o.placed_at <= s.last_order_at"
        " AND date(o.placed_at, ?) = date(s.last_order_at, ?)"
        " AND l.category_id IS NOT NULL AND l.quantity > l.refunded_quantity)"
        " WHERE s.last_order_at IS NOT NULL",
        (shift, shift),
    )
    con.commit()


def fill(data_dir: Path, n: int, as_of: date, tz: ZoneInfo) -> dict[str, int]:
    """Migrate a fresh embedded database in data_dir and load n customers into it."""
    migrate(data_dir)
    return load(data_dir / "huitouke.sqlite3", n, as_of, tz)
