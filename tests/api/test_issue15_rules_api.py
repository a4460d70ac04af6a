"""Issue 15 item 3 through the API: the same rules as the forms, errors naming the field."""

from __future__ import annotations

from datetime import date

import pytest

from huitouke.customers.models import Customer

pytestmark = pytest.mark.django_db

NEXT_YEAR = date.today().year + 1


def test_api_refuses_letters_impossible_dates_and_negative_budgets(api_as, owner, org):
    api = api_as(owner)
    for body, field in (
        ({"name": "甲", "phone": "1381234abcd"}, "phone"),
        ({"name": "乙", "birth_year": 1990, "birth_month": 2, "birth_day": 30}, "birth_day"),
        ({"name": "丙", "birth_year": NEXT_YEAR, "birth_month": 1, "birth_day": 1}, "birth_day"),
        ({"name": "丁", "budget": "-1"}, "budget"),
    ):
        response = api.post("/customers", body)
        assert response.status_code == 422, body
        errors = response.json()["errors"]
        assert any(e["field"] == field for e in errors), errors
    assert not Customer.objects.exists()
    zh = api_as(owner, "zh-hans").post("/customers", {"name": "戊", "budget": "-1"})
    assert zh.status_code == 422 and "预算" in zh.json()["errors"][0]["message"]
    ok = api.post("/customers", {"name": "欧阳晶", "gender": "f", "salutation_override": "晶姐"})
    assert ok.status_code == 201 and ok.json()["salutation"] == "晶姐"
