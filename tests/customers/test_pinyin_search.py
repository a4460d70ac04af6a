"""Search like people search: pinyin in full and by initials, kept current on every write path."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.urls import reverse
from tests.helpers import make_customer
from tests.imports.importfiles import write_csv

from huitouke.core.pinyin import readings
from huitouke.customers.actions import do_update_customer
from huitouke.customers.models import Customer
from huitouke.customers.pinyin import name_keys
from huitouke.customers.queries import search_customers
from huitouke.imports.actions import do_commit_import
from huitouke.sales.queries import pinyin_keys

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("name", "full", "initials"),
    [
        ("张莉梅", "zhanglimei", "zlm"),
        # Polyphonic surnames take their reading as a surname (pypinyin alone says ceng, dan…).
        ("曾小贤", "zengxiaoxian", "zxx"),
        ("单田芳", "shantianfang", "stf"),
        ("解晓东", "xiexiaodong", "xxd"),
        ("区志强", "ouzhiqiang", "ozq"),
        ("仇英", "qiuying", "qy"),
        ("朴树", "piaoshu", "ps"),
        ("查良镛", "zhaliangyong", "zly"),
        ("翟丽", "zhaili", "zl"),
        # Compound surnames, and the context reading of the given name.
        ("欧阳晶", "ouyangjing", "oyj"),
        ("尉迟恭", "yuchigong", "ycg"),
        ("长孙无忌", "zhangsunwuji", "zswj"),
        ("吕雪", "lvxue", "lx"),
        # Latin names keep their letters; each word gives its initial.
        ("Anna Li", "annali", "al"),
        ("王 芳", "wangfang", "wf"),
        ("", "", ""),
    ],
)
def test_name_keys(name: str, full: str, initials: str) -> None:
    assert name_keys(name) == (full, initials)


def test_names_and_products_share_one_reading_with_the_surname_rule_on_top() -> None:
    """core.pinyin reads the text; names add the surname reading, products keep Latin whole."""
    assert readings("SK-II 神仙水") == [
        ("SK-II ", False),
        ("shen", True),
        ("xian", True),
        ("shui", True),
    ]
    assert name_keys("王小贤") == pinyin_keys("王小贤") == ("wangxiaoxian", "wxx")
    # 曾 as a surname is zeng; in a product name it keeps pypinyin's reading.
    assert name_keys("曾小贤") == ("zengxiaoxian", "zxx")
    assert pinyin_keys("曾小贤") == ("cengxiaoxian", "cxx")
    # Latin: a name splits it into words, a product keeps it whole.
    assert name_keys("Anna Li 美") == ("annalimei", "alm")
    assert pinyin_keys("Anna Li 美") == ("annalimei", "annalim")


@pytest.mark.parametrize(
    "typed", ["zhanglimei", "zlm", "zhang li mei", "ZLM", "Zhang Li", "zhangl"]
)
def test_pinyin_finds_her(owner: Any, org: Any, typed: str) -> None:
    her = make_customer(org, name="张莉梅")
    make_customer(org, name="赵丽")  # zl: a prefix of zlm is not zlm
    make_customer(org, name="李梅")
    assert list(search_customers(owner, typed)) == [her]


def test_polyphonic_surname_is_searched_by_its_surname_reading(owner: Any, org: Any) -> None:
    zeng = make_customer(org, name="曾小贤")
    assert list(search_customers(owner, "zengxiaoxian")) == [zeng]
    assert list(search_customers(owner, "zxx")) == [zeng]
    assert list(search_customers(owner, "cengxiaoxian")) == []


def test_chinese_text_and_phone_fragments_still_work(owner: Any, org: Any) -> None:
    her = make_customer(org, name="张莉梅", phone="13812345678")
    make_customer(org, name="王强", phone="13900000003")
    assert list(search_customers(owner, "莉梅")) == [her]
    assert list(search_customers(owner, "5678")) == [her]
    assert list(search_customers(owner, "138 1234 5678")) == [her]


def test_search_stays_in_scope(staff_a: Any, staff_b: Any, org: Any) -> None:
    mine = make_customer(org, name="张莉梅", owner=staff_a)
    make_customer(org, name="张莉", owner=staff_b)
    assert list(search_customers(staff_a, "zhangli")) == [mine]


def test_keys_follow_a_rename_through_the_action(owner: Any, org: Any) -> None:
    her = make_customer(org, name="张莉梅")
    do_update_customer(her, actor=owner, name="曾莉梅")
    her.refresh_from_db()
    assert (her.name_pinyin, her.name_initials) == ("zenglimei", "zlm")
    assert list(search_customers(owner, "zenglimei")) == [her]
    assert list(search_customers(owner, "zhanglimei")) == []


def test_save_with_update_fields_keeps_the_keys(org: Any) -> None:
    her = make_customer(org, name="张莉梅")
    her.name = "单莉梅"
    her.save(update_fields=["name"])
    assert Customer.objects.filter(pk=her.pk, name_pinyin="shanlimei", name_initials="slm").exists()


def test_imports_write_the_keys_when_they_create_and_rename(tmp_path: Path, store1: Any) -> None:
    header = ["会员编号", "姓名", "手机"]

    def run(rows: list[list[str]]) -> Any:
        return do_commit_import(
            write_csv(tmp_path / "c.csv", header, rows),
            organisation=store1.organisation,
            store=store1,
            kind="customers",
            actor=None,
        )

    run([["M1", "曾小贤", "13800138001"], ["M2", "林晓雨", "13800138002"]])
    keys = dict(Customer.objects.values_list("external_id", "name_initials"))
    assert keys == {"M1": "zxx", "M2": "lxy"}
    run([["M2", "欧阳晓雨", "13800138002"]])
    assert Customer.objects.get(external_id="M2").name_pinyin == "ouyangxiaoyu"


def test_the_customer_list_and_api_search_by_pinyin(client: Any, owner: Any, org: Any) -> None:
    her = make_customer(org, name="张莉梅")
    make_customer(org, name="李梅")
    client.force_login(owner)
    page = client.get(reverse("customers:list"), {"q": "zlm"})
    assert page.status_code == 200
    assert list(page.context["page"]) == [her]
    api = client.get("/api/v1/customers", {"q": "zhang li mei"})
    assert api.status_code == 200, api.content
    assert [row["id"] for row in api.json()["items"]] == [her.pk]


def test_the_quick_order_lookup_finds_her_by_pinyin(client: Any, staff_a: Any, org: Any) -> None:
    her = make_customer(org, name="张莉梅", owner=staff_a)
    client.force_login(staff_a)
    response = client.get(reverse("sales:lookup"), {"phone": "zlm"})
    assert response.status_code == 200
    assert f"?customer={her.pk}" in response.content.decode()
