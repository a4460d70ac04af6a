"""Issue 15 items 3 and 10: impossible input is refused the same way everywhere; salutations."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.core.exceptions import ValidationError
from tests.helpers import make_customer
from tests.imports.importfiles import write_csv

from huitouke.customers.actions import do_update_customer
from huitouke.customers.models import Customer, FamilyMember
from huitouke.customers.names import COMPOUND_SURNAMES, salutation_for, surname_of
from huitouke.customers.validation import birthday_problem, validate_budget, validate_phone
from huitouke.imports.actions import do_commit_import
from huitouke.imports.summary import GOOD_ROWS
from huitouke.messaging.rendering import customer_variables

pytestmark = pytest.mark.django_db

NEXT_YEAR = date.today().year + 1


# --- item 10: salutations ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "gender", "expected"),
    [
        ("欧阳晶", "f", "欧阳女士"),
        ("上官怡", "f", "上官女士"),
        ("司马光", "m", "司马先生"),
        ("诸葛亮", "m", "诸葛先生"),
        ("陈静", "f", "陈女士"),
        ("欧静", "f", "欧女士"),  # 欧 alone is a surname too: 欧静 is not 欧阳
        ("王强", "m", "王先生"),
        ("欧阳晶", "", "欧阳晶"),  # gender unknown: the full name
    ],
)
def test_salutation_knows_compound_surnames(name, gender, expected):
    assert salutation_for(name, gender) == expected


def test_the_standard_compound_surnames_are_listed():
    named_in_the_issue = (
        "欧阳 上官 司马 诸葛 东方 皇甫 尉迟 公孙 慕容 令狐 长孙 宇文 司徒 夏侯 轩辕"
    )
    assert set(named_in_the_issue.split()) <= COMPOUND_SURNAMES
    # A few more of the 百家姓's compound surnames.
    assert {"端木", "南宫", "独孤", "万俟", "澹台", "呼延", "西门", "第五"} <= COMPOUND_SURNAMES
    assert all(len(s) == 2 for s in COMPOUND_SURNAMES)
    assert surname_of("慕容复") == "慕容"


def test_staff_override_wins_in_scripts_and_sms(org, store1):
    customer = make_customer(org, name="欧阳晶", gender="f", home_store=store1)
    assert customer.salutation == "欧阳女士"
    assert customer_variables(customer)["salutation"] == "欧阳女士"
    do_update_customer(customer, actor=None, salutation_override=" 晶姐 ")
    customer.refresh_from_db()
    assert customer.salutation_override == "晶姐"
    assert customer_variables(customer)["salutation"] == "晶姐"
    from huitouke.followups.scripts import render_for

    assert render_for("{{ salutation }}您好", customer) == "晶姐您好"


# --- item 3: the rules --------------------------------------------------------------------------


def test_letters_in_a_phone_are_refused_not_converted():
    with pytest.raises(ValidationError) as err:
        validate_phone("1381234abcd")
    assert "phone" in err.value.error_dict
    assert "1381234abcd" in err.value.messages[0] and "Mobile" in err.value.messages[0]
    assert validate_phone("138 1234 1234") == "+8613812341234"


@pytest.mark.parametrize(
    ("kind", "year", "month", "day", "refused"),
    [
        ("solar", 1990, 2, 30, True),
        ("solar", 1990, 2, 28, False),
        ("solar", None, 2, 29, False),  # no year: 2月29日 can be
        ("solar", 1991, 2, 29, True),  # 1991 is not a leap year
        ("solar", 1990, 4, 31, True),
        ("solar", NEXT_YEAR, 1, 1, True),
        ("lunar", NEXT_YEAR, 1, 1, True),
        ("lunar", 1990, 1, 30, False),
        ("solar", None, None, None, False),
    ],
)
def test_birthday_rules(kind, year, month, day, refused):
    assert (birthday_problem(kind, year, month, day) is not None) is refused


def test_tomorrow_is_a_future_birthday():
    tomorrow = date.today() + timedelta(days=1)
    if tomorrow.year == date.today().year:
        assert "future" in birthday_problem("solar", tomorrow.year, tomorrow.month, tomorrow.day)


def test_negative_budget_is_refused():
    with pytest.raises(ValidationError) as err:
        validate_budget("-1")
    assert list(err.value.error_dict) == ["budget"] and "Budget" in err.value.messages[0]
    assert validate_budget("0") == 0


def test_actions_refuse_and_change_nothing(org):
    customer = make_customer(org, name="李梅", birth_year=1990, birth_month=3, birth_day=5)
    for fields, key in (
        ({"phone": "1381234abcd"}, "phone"),
        ({"birth_month": 2, "birth_day": 30}, "birth_day"),
        ({"birth_year": NEXT_YEAR}, "birth_day"),
        ({"budget": "-100"}, "budget"),
    ):
        with pytest.raises(ValidationError) as err:
            do_update_customer(customer, actor=None, **fields)
        assert key in err.value.error_dict
        customer.refresh_from_db()
    fresh = Customer.objects.get(pk=customer.pk)
    assert (fresh.birth_year, fresh.birth_month, fresh.birth_day, fresh.budget) == (
        1990,
        3,
        5,
        None,
    )
    with pytest.raises(ValidationError):
        make_customer(org, name="新客", phone="1381234abcd")
    assert not Customer.objects.filter(name="新客").exists()


# --- web forms ----------------------------------------------------------------------------------


def test_form_refusals_keep_the_typed_values(client, owner):
    client.force_login(owner)
    response = client.post(
        "/customers/new/",
        {
            "name": "欧阳晶",
            "phone": "1381234abcd",
            "gender": "f",
            "birthday_kind": "solar",
            "birth_year": "1990",
            "birth_month": "2",
            "birth_day": "30",
            "budget": "-5",
            "source": "walk_in",
        },
        headers={"Accept-Language": "zh-hans"},
    )
    assert response.status_code == 200
    form = response.context["form"]
    assert set(form.errors) >= {"phone", "birth_day", "budget"}
    html = response.content.decode()
    assert 'value="1381234abcd"' in html and 'value="-5"' in html and 'value="30"' in html
    assert "手机" in str(form.errors["phone"]) and "预算" in str(form.errors["budget"])
    assert "生日" in str(form.errors["birth_day"])
    assert not Customer.objects.filter(name="欧阳晶").exists()


def test_family_member_future_birthday_is_refused_with_the_values_kept(client, owner, org):
    customer = make_customer(org, name="陈静")
    client.force_login(owner)
    response = client.post(
        f"/customers/{customer.pk}/family/",
        {
            "relation": "child",
            "name": "小宝",
            "birthday_kind": "solar",
            "birth_year": str(NEXT_YEAR),
            "birth_month": "1",
            "birth_day": "1",
        },
    )
    assert response.status_code == 200
    assert "birth_day" in response.context["family_form"].errors
    assert 'value="小宝"' in response.content.decode()
    assert not FamilyMember.objects.exists()


# --- imports ------------------------------------------------------------------------------------


def test_import_refuses_letters_impossible_and_future_birthdays(tmp_path, store1):
    path = write_csv(
        tmp_path / "c.csv",
        ["姓名", "手机", "生日"],
        [
            ["甲", "1381234abcd", ""],
            ["乙", "13800000002", "1990-02-30"],
            ["丙", "13800000003", f"{NEXT_YEAR}-01-01"],
            ["丁", "13800000004", "1990-03-05"],
        ],
    )
    summary = do_commit_import(
        path,
        organisation=store1.organisation,
        store=store1,
        kind="customers",
        actor=None,
        mode=GOOD_ROWS,
    )
    assert [(e.row, e.code) for e in summary.errors] == [
        (2, "phone_invalid"),
        (3, "birthday_invalid"),
        (4, "birthday_future"),
    ]
    assert list(Customer.objects.values_list("name", flat=True)) == ["丁"]
