#!/usr/bin/env python3
"""Sync a till's sales into Huitouke, idempotently, and read back points and coupons.

Standard library only. Usage:

    HUITOUKE_URL=https://crm.example.com HUITOUKE_TOKEN=htk_... \
        python3 examples/pos_sync.py sales.json

sales.json is what the till exported: a list of sales such as

    [{"sale_id": "T1-20260301-0042", "store_id": 1, "time": "2026-03-01T15:04:00+08:00",
      "phone": "13812345678", "name": "陈静",
      "lines": [{"name": "玻尿酸精华", "quantity": 1, "unit_price": "298.00"}]}]

Every sale is sent with `Idempotency-Key: sale-<sale_id>` and `external_id = sale_id`, so
running the script again (after a crash, a timeout, or twice by mistake) records nothing
twice: a retry is answered with the first answer (`Idempotent-Replayed: true`), and a sale
recorded long ago answers 409 `duplicate_external_id`; both count as "already". Network errors, 5xx and 409
`idempotency_in_progress` are retried with the same key and back-off. A token with the
`pos` scope is enough. The output (JSON) is what the till screen shows per customer: points,
tier, the spend to the next tier, and usable coupons.
"""

from __future__ import annotations

import json
import os
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from typing import Any

RETRIES = 5


class ApiError(Exception):
    def __init__(self, status: int, problem: dict[str, Any]) -> None:
        super().__init__(f"{status} {problem.get('code')}: {problem.get('detail')}")
        self.status = status
        self.code = problem.get("code", "")
        self.problem = problem


class Huitouke:
    """A tiny client: JSON in and out, problem details raised as ApiError, retries built in."""

    def __init__(self, base_url: str, token: str, language: str = "zh-hans") -> None:
        self.base = base_url.rstrip("/") + "/api/v1"
        self.headers = {
            "Authorization": f"Bearer {token}",
            "Accept": "application/json",
            "Accept-Language": language,
        }
        self.replayed = False  # whether the last answer was a stored one (a retry's)

    def request(
        self, method: str, path: str, body: Any = None, key: str | None = None, **query: Any
    ) -> Any:
        url = self.base + path
        if query:
            url += "?" + urllib.parse.urlencode(query)
        data = json.dumps(body).encode() if body is not None else None
        headers = dict(self.headers)
        if data is not None:
            headers["Content-Type"] = "application/json"
        if key:
            headers["Idempotency-Key"] = key  # the same key on every retry of this request
        for attempt in range(RETRIES):
            req = urllib.request.Request(url, data=data, method=method, headers=headers)
            try:
                with urllib.request.urlopen(req, timeout=15) as response:
                    self.replayed = response.headers.get("Idempotent-Replayed") == "true"
                    return json.loads(response.read() or b"null")
            except urllib.error.HTTPError as exc:
                problem = json.loads(exc.read() or b"{}")
                retry = exc.code >= 500 or problem.get("code") == "idempotency_in_progress"
                if not retry or attempt == RETRIES - 1:
                    raise ApiError(exc.code, problem) from exc
            except (urllib.error.URLError, TimeoutError):
                if attempt == RETRIES - 1:
                    raise
            time.sleep(min(0.2 * 2**attempt, 5))
        raise AssertionError("unreachable")


def find_or_register(api: Huitouke, sale: dict[str, Any]) -> int | None:
    """The customer's id by phone; a new member is registered when the till has her name."""
    phone = sale.get("phone")
    if not phone:
        return None  # a walk-in sale
    digits = "".join(c for c in phone if c.isdigit())
    found = api.request("GET", "/customers", q=digits, limit=5)["items"]
    if found:
        return int(found[0]["id"])
    created = api.request(
        "POST",
        "/customers",
        {"name": sale.get("name") or digits[-4:], "phone": phone},
        key=f"customer-{digits}",
    )
    return int(created["id"])


def sync_sale(api: Huitouke, sale: dict[str, Any], customer_id: int | None) -> str:
    """Record one sale once: 'recorded' or 'already' (recorded by an earlier run)."""
    body = {
        "customer_id": customer_id,
        "store_id": sale.get("store_id"),
        "placed_at": sale.get("time"),
        "external_id": sale["sale_id"],
        "source": "store",
        "lines": sale["lines"],
    }
    try:
        api.request(
            "POST",
            "/orders",
            {k: v for k, v in body.items() if v is not None},
            key=f"sale-{sale['sale_id']}",
        )
    except ApiError as exc:
        if exc.code == "duplicate_external_id":
            return "already"
        raise
    # A replayed answer: an earlier run recorded it (within the 24 hours keys are kept).
    return "already" if api.replayed else "recorded"


def till_screen(api: Huitouke, customer_id: int) -> dict[str, Any]:
    """What the cashier sees: points, tier, the gap to the next tier, coupons she can use."""
    standing = api.request("GET", f"/customers/{customer_id}/loyalty")
    return {
        "customer_id": customer_id,
        "points": standing["points"],
        "tier": (standing["tier"] or {}).get("name"),
        "next_tier_message": standing["gap_message"],
        "coupons": [
            {"code": c["code"], "description": c["description"]} for c in standing["usable_coupons"]
        ],
    }


def main(argv: list[str]) -> int:
    if len(argv) != 2:
        print(__doc__, file=sys.stderr)
        return 2
    api = Huitouke(
        os.environ["HUITOUKE_URL"],
        os.environ["HUITOUKE_TOKEN"],
        os.environ.get("HUITOUKE_LANGUAGE", "zh-hans"),
    )
    with open(argv[1], encoding="utf-8") as f:
        sales = json.load(f)
    summary: dict[str, Any] = {"recorded": 0, "already": 0, "failed": [], "customers": []}
    seen: list[int] = []
    for sale in sales:
        try:
            customer_id = find_or_register(api, sale)
            summary[sync_sale(api, sale, customer_id)] += 1
        except ApiError as exc:
            summary["failed"].append(
                {
                    "sale_id": sale.get("sale_id"),
                    "error": str(exc),
                    "errors": exc.problem.get("errors", []),
                }
            )
            continue
        if customer_id is not None and customer_id not in seen:
            seen.append(customer_id)
    summary["customers"] = [till_screen(api, pk) for pk in seen]
    json.dump(summary, sys.stdout, ensure_ascii=False, indent=2)
    print()
    return 1 if summary["failed"] else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
