"""examples/pos_sync.py against a live server with the demo data: twice, and nothing doubles."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from huitouke.accounts.models import Role, User
from huitouke.accounts.tokens import create_api_token
from huitouke.customers.models import Customer
from huitouke.demo.generator import generate_demo
from huitouke.loyalty.models import LoyaltyAccount, PointsEntry
from huitouke.sales.models import Order

SCRIPT = Path(__file__).resolve().parents[2] / "examples" / "pos_sync.py"


def _run(live_server: Any, token: str, sales: Path) -> dict[str, Any]:
    env = {
        **os.environ,
        "HUITOUKE_URL": live_server.url,
        "HUITOUKE_TOKEN": token,
        "HUITOUKE_LANGUAGE": "en",
    }
    done = subprocess.run(
        [sys.executable, str(SCRIPT), str(sales)],
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    result: dict[str, Any] = json.loads(done.stdout)
    return result


@pytest.mark.django_db(transaction=True)
def test_the_pos_recipe_syncs_once_and_reads_back_points(live_server: Any, tmp_path: Path) -> None:
    generate_demo(customers=30, seed=5)
    manager = User.objects.filter(role=Role.MANAGER).select_related("store").first()
    assert manager is not None
    token = create_api_token(manager, "till 1", actor=manager, scope="pos")
    regular = Customer.objects.visible_to(manager).exclude(phone=None).first()
    assert regular is not None
    sales = [
        {
            "sale_id": "T1-0001",
            "store_id": manager.store_id,
            "phone": regular.phone,
            "lines": [{"name": "玻尿酸精华", "quantity": 1, "unit_price": "298.00"}],
        },
        {
            "sale_id": "T1-0002",
            "store_id": manager.store_id,
            "phone": "+86 139-0000-7777",
            "name": "林小姐",
            "lines": [{"name": "面膜", "quantity": 2, "unit_price": "49.00"}],
        },
        {
            "sale_id": "T1-0003",
            "store_id": manager.store_id,
            "lines": [{"name": "护手霜", "quantity": 1, "unit_price": "35.00"}],
        },
    ]
    path = tmp_path / "sales.json"
    path.write_text(json.dumps(sales, ensure_ascii=False), encoding="utf-8")
    points_before = PointsEntry.objects.count()

    first = _run(live_server, token, path)
    assert (first["recorded"], first["already"], first["failed"]) == (3, 0, [])
    again = _run(live_server, token, path)
    assert (again["recorded"], again["already"], again["failed"]) == (0, 3, [])
    # Another till's token has other keys: the external ids still say "already" (409).
    other = create_api_token(manager, "till 2", actor=manager, scope="pos")
    third = _run(live_server, other, path)
    assert (third["recorded"], third["already"], third["failed"]) == (0, 3, [])

    assert Order.objects.filter(external_id__startswith="T1-").count() == 3
    newcomer = Customer.objects.get(phone="+8613900007777")
    assert newcomer.name == "林小姐"
    assert PointsEntry.objects.count() - points_before == 2  # two members earned, once each
    screens = {c["customer_id"]: c for c in again["customers"]}
    for customer in (regular, newcomer):
        assert screens[customer.pk]["points"] == LoyaltyAccount.objects.get(pk=customer.pk).balance
    assert screens[newcomer.pk]["points"] > 0
