"""Import files the tests write themselves, and an independent recomputation of customer stats."""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from openpyxl import Workbook

from huitouke.customers.models import Customer, CustomerStats
from huitouke.sales.models import Order, OrderLine

ORDER_HEADER = [
    "订单号",
    "顾客姓名",
    "手机",
    "下单日期",
    "产品名称",
    "品类",
    "数量",
    "售价",
    "实付",
]


def write_csv(
    path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]], encoding: str = "utf-8"
) -> Path:
    """A CSV file in `encoding` ("utf-8-sig" for Excel's BOM, "gbk" …); tab-separated for .tsv."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter="\t" if path.suffix == ".tsv" else ",")
    writer.writerow(header)
    writer.writerows(rows)
    path.write_bytes(buffer.getvalue().encode(encoding))
    return path


def write_xlsx(path: Path, header: Sequence[str], rows: Sequence[Sequence[Any]]) -> Path:
    """An .xlsx workbook with a title row above the header, as shops often export."""
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["2024年3月销售明细"])
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    workbook.save(path)
    return path


def order_rows(
    count: int, *, start: int = 0, lines: int = 1, customers: int = 7
) -> list[list[Any]]:
    """`count` orders of `lines` rows each: order number, name, phone, time, product, category …"""
    rows = []
    for n in range(start, start + count):
        c = n % customers
        for line in range(lines):
            quantity = 1 + (n + line) % 3
            rows.append(
                [
                    f"SO{n:05d}",
                    f"顾客{c}",
                    f"1390000{c:04d}",
                    f"2024/{1 + n % 12}/{1 + n % 28} 1{line}:{n % 60:02d}",
                    f"产品{(n + line) % 5}",
                    f"品类{(n + line) % 3}",
                    quantity,
                    "￥100.00",
                    f"{quantity * 100 - line * 5}.00",
                ]
            )
    return rows


def expected_by_phone(rows: Sequence[Sequence[Any]]) -> dict[str, tuple[int, Decimal]]:
    """{E.164 phone: (orders, net spend)} worked out from ORDER_HEADER rows in plain loops."""
    orders: dict[str, set[str]] = {}
    spend: dict[str, Decimal] = {}
    for row in rows:
        phone = "+86" + str(row[2])
        orders.setdefault(phone, set()).add(str(row[0]))
        spend[phone] = spend.get(phone, Decimal(0)) + Decimal(str(row[8]))
    return {p: (len(orders[p]), spend[p]) for p in orders}


def recomputed_stats(customer: Customer, now: datetime) -> dict[str, Any]:
    """Her stats from her orders, by plain loops over the rows (not the code under test)."""
    paid = [o for o in Order.objects.filter(customer=customer) if o.status == "paid"]
    net = [o.net_paid - o.refunded_amount for o in paid]
    margin = [o.net_paid - o.refunded_amount - o.cost_amount + o.refunded_cost for o in paid]
    last = max((o.placed_at for o in paid), default=None)
    # Her last visit: every paid order on the local date of the last one (lines not returned).
    zone = ZoneInfo(customer.organisation.time_zone)
    categories = set()
    for o in paid:
        if last is not None and o.placed_at.astimezone(zone).date() == last.astimezone(zone).date():
            for line in OrderLine.objects.filter(order=o):
                if line.category_id is not None and line.quantity > line.refunded_quantity:
                    categories.add(line.category_id)
    total = sum(net, Decimal("0.00"))
    return {
        "orders_count": len(paid),
        "net_spend": total,
        "gross_margin": sum(margin, Decimal("0.00")),
        "first_order_at": min((o.placed_at for o in paid), default=None),
        "last_order_at": last,
        "avg_order_value": (total / len(paid)).quantize(Decimal("0.01")) if paid else Decimal(0),
        "spend_12m": sum(
            (n for o, n in zip(paid, net, strict=True) if o.placed_at > now - timedelta(days=365)),
            Decimal("0.00"),
        ),
        "last_order_categories": sorted(categories),
    }


def stored_stats(customer: Customer) -> dict[str, Any]:
    """Her CustomerStats row as a dict comparable with recomputed_stats()."""
    s = CustomerStats.objects.get(customer=customer)
    return {
        "orders_count": s.orders_count,
        "net_spend": s.net_spend,
        "gross_margin": s.gross_margin,
        "first_order_at": s.first_order_at,
        "last_order_at": s.last_order_at,
        "avg_order_value": s.avg_order_value,
        "spend_12m": s.spend_12m,
        "last_order_categories": sorted(s.last_order_categories),
    }
