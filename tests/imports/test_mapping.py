"""Header -> field matching, user overrides, required fields, header-row detection."""

from __future__ import annotations

import pytest

from huitouke.imports.mapping import (
    build_mapping,
    find_header,
    match_header,
    normalise_header,
    parse_mapping_spec,
)

ORDER_HEADERS = {
    "customer_name": ["顾客姓名", "客户", "客户姓名", "姓名", "会员", "name", "Customer Name"],
    "phone": ["手机", "手机号", "电话", "联系电话", "phone", "Mobile", "手机号码"],
    "placed_at": ["下单日期", "日期", "下单时间", "时间", "date", "Order Date"],
    "product_name": ["产品名称", "商品", "商品名称", "product"],
    "quantity": ["数量", "qty", "QTY"],
    "unit_cost": ["拿货价", "成本", "进价", "cost"],
    "unit_price": ["售价", "单价", "price"],
    "category": ["品类", "类目", "分类", "category"],
    "amount": ["实付", "金额", "实付金额", "amount", "金额(元)", "金额（元）"],
    "external_id": ["订单号", "单号", "order id", "External ID", "external_id"],
    "customer_external_id": ["会员编号", "客户编号"],
    "wechat": ["微信", "微信号", "wechat"],
    "store": ["门店", "store"],
    "staff": ["导购", "销售", "staff"],
    "discount": ["折扣", "优惠", "discount"],
    "source": ["来源", "渠道", "source"],
    "note": ["备注", "note", "Remark"],
}
CUSTOMER_HEADERS = {
    "name": ["顾客姓名", "客户", "客户姓名", "姓名", "会员", "name"],
    "phone": ["手机", "手机号", "电话", "联系电话", "phone", "mobile"],
    "external_id": ["会员编号", "客户编号", "external_id", "External ID"],
    "wechat": ["微信", "微信号", "wechat"],
    "birthday": ["生日", "birthday", "出生日期"],
    "gender": ["性别", "gender"],
    "city": ["城市", "city"],
    "address": ["地址", "address"],
    "note": ["备注", "note"],
    "tags": ["标签", "tags"],
    "store": ["门店", "store"],
    "staff": ["导购", "销售", "staff"],
    "source": ["来源", "渠道", "source"],
}


@pytest.mark.parametrize(
    ("field", "header"), [(f, h) for f, hs in ORDER_HEADERS.items() for h in hs]
)
def test_order_synonyms(field: str, header: str) -> None:
    assert match_header(header, "orders") == (field, 1000)


@pytest.mark.parametrize(
    ("field", "header"), [(f, h) for f, hs in CUSTOMER_HEADERS.items() for h in hs]
)
def test_customer_synonyms(field: str, header: str) -> None:
    assert match_header(header, "customers") == (field, 1000)


@pytest.mark.parametrize(
    ("header", "normalised"),
    [
        ("金额（元）", "金额"),
        ("售价(元)", "售价"),
        (" Phone Number ", "phonenumber"),
        ("*姓名", "姓名"),
        ("(备注)", "备注"),
        ("Order_Date", "orderdate"),
        ("手机【必填】", "手机"),
        ("ＱＴＹ", "qty"),
    ],
)
def test_normalise_header(header: str, normalised: str) -> None:
    assert normalise_header(header) == normalised


@pytest.mark.parametrize(
    ("header", "kind", "field"),
    [
        ("客户手机", "orders", "phone"),  # the head of the compound is the last word
        ("会员手机号码", "orders", "phone"),
        ("Customer Phone", "orders", "phone"),
        ("会员生日", "customers", "birthday"),
        ("应付金额", "orders", "amount"),
        ("商品编码", "orders", "sku"),  # exact synonym beats "商品" inside it
        ("下单渠道", "orders", "source"),
    ],
)
def test_headers_containing_a_synonym(header: str, kind: str, field: str) -> None:
    found = match_header(header, kind)  # type: ignore[arg-type]
    assert found is not None and found[0] == field


def test_english_synonyms_match_whole_words_only() -> None:
    assert match_header("Last update", "orders") is None


def test_other_kinds_columns_are_not_misread() -> None:
    # 会员 is a name synonym, but 会员生日 in an orders file is a birthday, not imported there.
    mapping, _ = build_mapping(["会员生日", "姓名", "日期", "金额"], "orders")
    assert mapping.by_column() == {"姓名": "customer_name", "日期": "placed_at", "金额": "amount"}
    assert mapping.unmapped == ["会员生日"]


def test_build_mapping_reports_unmapped_and_duplicates() -> None:
    headers = ["顾客姓名", "手机", "下单日期", "产品名称", "会员等级", "备注", "备注", None]
    mapping, errors = build_mapping(headers, "orders")
    assert [e.code for e in errors] == ["missing_columns"]
    assert mapping.columns == [
        "顾客姓名",
        "手机",
        "下单日期",
        "产品名称",
        "会员等级",
        "备注",
        "备注#2",
        "H",
    ]
    assert mapping.by_column() == {
        "顾客姓名": "customer_name",
        "手机": "phone",
        "下单日期": "placed_at",
        "产品名称": "product_name",
        "备注": "note",
    }
    assert mapping.unmapped == ["会员等级", "备注#2"]
    assert mapping.missing == ["amount_or_price"]


def test_exact_match_wins_over_contained_one() -> None:
    mapping, _ = build_mapping(["应付金额", "实付金额", "姓名", "日期"], "orders")
    assert mapping.by_column()["实付金额"] == "amount"
    assert "应付金额" in mapping.unmapped


def test_missing_required_fields_for_orders() -> None:
    _, errors = build_mapping(["姓名", "金额"], "orders")
    assert [(e.code, e.row, e.params["fields"]) for e in errors] == [
        ("missing_columns", None, ["placed_at"])
    ]
    assert "下单日期" in errors[0].message("zh")
    mapping, errors = build_mapping(["产品", "数量"], "orders")
    assert mapping.missing == ["customer_key", "placed_at", "amount_or_price"]
    assert "order date" in errors[0].message_en


def test_price_without_amount_satisfies_orders() -> None:
    mapping, errors = build_mapping(["手机", "日期", "售价"], "orders")
    assert errors == [] and mapping.missing == []


def test_missing_required_fields_for_customers() -> None:
    mapping, errors = build_mapping(["生日", "城市"], "customers")
    assert mapping.missing == ["name_or_phone"]
    assert errors[0].code == "missing_columns"
    mapping, errors = build_mapping(["手机", "城市"], "customers")
    assert errors == []


def test_parse_mapping_spec() -> None:
    assert parse_mapping_spec("客户名=name, 电话号码 = phone，备用=-") == {
        "客户名": "name",
        "电话号码": "phone",
        "备用": "-",
    }
    assert parse_mapping_spec("a=b=c") == {"a=b": "c"}
    with pytest.raises(ValueError):
        parse_mapping_spec("just words")


def test_overrides_fix_and_ignore_columns() -> None:
    headers = ["客户名", "号码", "日期", "金额", "备注"]
    mapping, errors = build_mapping(headers, "orders", "客户名=customer_name,号码=手机,备注=-")
    assert errors == []
    assert mapping.by_column() == {
        "客户名": "customer_name",
        "号码": "phone",  # the target may be a synonym
        "日期": "placed_at",
        "金额": "amount",
    }
    assert mapping.unmapped == []  # an ignored column is not "unmapped"


def test_override_moves_a_field_to_another_column() -> None:
    mapping, _ = build_mapping(
        ["日期", "付款日期", "姓名", "金额"], "orders", {"付款日期": "placed_at"}
    )
    assert mapping.by_column() == {
        "付款日期": "placed_at",
        "姓名": "customer_name",
        "金额": "amount",
    }
    assert mapping.unmapped == ["日期"]


def test_override_by_column_letter() -> None:
    mapping, _ = build_mapping(["姓名", "日期", "金额", "号码"], "orders", {"D": "phone"})
    assert mapping.by_column()["号码"] == "phone"


def test_bad_overrides_are_reported() -> None:
    _, errors = build_mapping(
        ["姓名", "日期", "金额"], "orders", {"姓名": "shoe_size", "不存在": "phone"}
    )
    assert sorted(e.code for e in errors) == ["mapping_unknown_column", "mapping_unknown_field"]
    _, errors = build_mapping(["姓名", "日期", "金额"], "orders", "nonsense")
    assert [e.code for e in errors] == ["mapping_invalid"]


def test_find_header_skips_a_title_block() -> None:
    rows = [
        ["2024年3月顾客消费记录", None, None, None],
        ["门店：徐汇店", None, None, None],
        [None, None, None, None],
        ["顾客姓名", "手机", "下单日期", "金额"],
        ["张三", "13800138000", "2024-03-05", "100"],
    ]
    assert find_header(rows, "orders") == (3, 1, rows[3])


def test_find_header_reads_a_two_row_merged_header() -> None:
    # 姓名 and 备注 merged down over two rows; 消费信息 merged across three sub-headers.
    rows = [
        ["顾客消费表", None, None, None, None, None],
        ["姓名", "手机", "消费信息", None, None, "备注"],
        [None, None, "日期", "商品", "金额", None],
        ["张三", "13800138000", "2024-03-05", "面霜", "100", ""],
    ]
    found = find_header(rows, "orders")
    assert found == (1, 2, ["姓名", "手机", "日期", "商品", "金额", "备注"])


def test_find_header_none_when_nothing_looks_like_a_header() -> None:
    assert find_header([["1", "2"], ["3", "4"]], "orders") is None
