"""Reading CSV (every encoding and delimiter) and XLSX files into typed rows with row errors."""

from __future__ import annotations

import hashlib
import io
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.utils import translation
from openpyxl import Workbook

from huitouke.imports.readers import detect_encoding, iter_file, read_file, sniff_delimiter
from huitouke.imports.rows import Birthday, ParsedCustomerRow, ParsedOrderRow, row_key

SHOP_CSV = (
    "2024年3月顾客消费记录,,,,,,,\n"
    "顾客姓名,手机,下单日期,产品名称,数量,拿货价,售价,品类\n"
    '王丽,138 0013 8000,2024/3/5,玫瑰精华水,2,45,"￥1,128.00",护肤\n'
    "陈静,+86 139-0013-9000,2024年3月6日 14:03,口红,1,60,199元,彩妆\n"
)


def orders(result) -> list[ParsedOrderRow]:  # type: ignore[no-untyped-def]
    rows = [r for r in result.rows if isinstance(r, ParsedOrderRow)]
    assert len(rows) == len(result.rows)
    return rows


def check_shop_rows(result) -> None:  # type: ignore[no-untyped-def]
    assert result.errors == []
    assert result.header_row == 2
    first, second = orders(result)
    assert (first.row, first.customer_name, first.phone) == (3, "王丽", "13800138000")
    assert first.placed_at == datetime(2024, 3, 5)
    assert (first.product_name, first.category, first.quantity) == ("玫瑰精华水", "护肤", 2)
    assert (first.unit_cost, first.unit_price) == (Decimal("45.00"), Decimal("1128.00"))
    assert first.amount == Decimal("2256.00")  # 2 × 1128.00, no amount column
    assert (second.row, second.customer_name, second.phone) == (4, "陈静", "13900139000")
    assert second.placed_at == datetime(2024, 3, 6, 14, 3)
    assert second.amount == Decimal("199.00")


@pytest.mark.parametrize(
    ("encoding", "reported"),
    [
        ("gbk", "gbk"),
        ("utf-8", "utf-8"),
        ("utf-8-sig", "utf-8-sig"),
        ("gb18030", "gbk"),
        ("utf-16", "utf-16"),
    ],
)
def test_csv_in_every_encoding(tmp_path: Path, encoding: str, reported: str) -> None:
    path = tmp_path / "orders.csv"
    path.write_bytes(SHOP_CSV.encode(encoding))
    result = read_file(path, "orders")
    assert (result.format, result.encoding, result.delimiter) == ("csv", reported, ",")
    check_shop_rows(result)


def test_gb18030_only_characters_are_detected(tmp_path: Path) -> None:
    # 䶮 (as in 刘䶮) is outside GBK: the file can only be GB18030.
    text = SHOP_CSV.replace("王丽", "刘䶮")
    path = tmp_path / "orders.csv"
    path.write_bytes(text.encode("gb18030"))
    result = read_file(path, "orders")
    assert result.encoding == "gb18030"
    assert orders(result)[0].customer_name == "刘䶮"


@pytest.mark.parametrize("delimiter", ["\t", ";"])
def test_tab_and_semicolon_files(tmp_path: Path, delimiter: str) -> None:
    text = SHOP_CSV.replace('"￥1,128.00"', "￥1128.00").replace(",", delimiter)
    path = tmp_path / "orders.txt"
    path.write_bytes(text.encode("utf-8-sig"))
    result = read_file(path, "orders")
    assert result.delimiter == delimiter
    check_shop_rows(result)


def test_sniff_prefers_the_consistent_delimiter() -> None:
    sample = "姓名\t金额\t日期\n王丽\t1,128.00\t2024-03-05\n陈静\t199.00\t2024-03-06\n"
    assert sniff_delimiter(sample) == "\t"
    assert sniff_delimiter("a;b;c\n1;2;3\n") == ";"
    assert sniff_delimiter("just one column\n") == ","


def test_detect_encoding_directly() -> None:
    assert detect_encoding(io.BytesIO("顾客".encode("gbk"))) == "gbk"
    assert detect_encoding(io.BytesIO("顾客".encode())) == "utf-8"
    assert detect_encoding(io.BytesIO(b"\xef\xbb\xbfname")) == "utf-8-sig"


def test_order_ids_store_staff_and_bom(tmp_path: Path) -> None:
    text = (
        "订单号\t会员编号\t客户姓名\t下单时间\t商品\t数量\t实付金额\t优惠\t门店\t导购\t微信\t备注\n"
        "A1001\tM001\t林晓\t2024-03-05T14:03:00\t面膜\t3\t1,234.50\t¥10\t徐汇店\t小周\tlinxiao88\t老客\n"
    )
    path = tmp_path / "orders.tsv"
    path.write_bytes(text.encode("utf-8-sig"))
    result = read_file(path, "orders")
    assert result.errors == []
    (row,) = orders(result)
    assert (row.external_id, row.customer_external_id, row.customer_name) == (
        "A1001",
        "M001",
        "林晓",
    )
    assert (row.store, row.staff, row.wechat, row.note) == ("徐汇店", "小周", "linxiao88", "老客")
    # The amount paid is taken as given; the discount is kept beside it.
    assert (row.quantity, row.amount, row.unit_price) == (3, Decimal("1234.50"), None)
    assert row.discount == Decimal("10.00")


def test_rate_discount_without_price_is_an_error(tmp_path: Path) -> None:
    text = "客户姓名,下单时间,实付金额,优惠\n林晓,2024-03-05,100,9折\n"
    result = read_file(text.encode(), "orders")
    assert [(e.row, e.column, e.code) for e in result.errors] == [
        (2, "优惠", "discount_needs_price")
    ]


def test_amount_from_price_quantity_and_discount() -> None:
    text = "姓名,日期,单价,数量,折扣\n王丽,2024-03-05,100,3,9折\n陈静,2024-03-05,50,2,15\n"
    first, second = orders(read_file(text.encode(), "orders"))
    assert (first.discount, first.amount) == (Decimal("30.00"), Decimal("270.00"))  # 300 × 0.9
    assert (second.discount, second.amount) == (Decimal("15.00"), Decimal("85.00"))  # 100 − 15


def test_bad_rows_name_row_column_and_value(tmp_path: Path) -> None:
    text = (
        "顾客姓名,手机,下单日期,产品名称,数量,售价\n"
        "王丽,13800138000,2024-03-05,面霜,1,100\n"  # row 2: good
        "陈静,1380013800,2024-02-30,口红,0,abc\n"  # row 3: four bad cells
        ",,2024-03-07,眼霜,1,80\n"  # row 4: no customer at all
        "赵敏,13700137000,,唇釉,1,\n"  # row 5: no date, no price
        "周芳,1.38001E+10,2024-03-08,面膜,2,30\n"  # row 6: phone shortened by Excel
        "孙丽,13600136000,2024-03-09,精华,1,300\n"  # row 7: good
    )
    path = tmp_path / "bad.csv"
    path.write_text(text, encoding="utf-8")
    result = read_file(path, "orders")
    assert [r.row for r in result.rows] == [2, 7]
    got = [(e.row, e.column, e.value, e.code) for e in result.errors]
    assert got == [
        (3, "手机", "1380013800", "phone_invalid"),
        (3, "下单日期", "2024-02-30", "date_invalid"),
        (3, "数量", "0", "quantity_not_positive"),
        (3, "售价", "abc", "amount_invalid"),
        (4, None, None, "customer_key_missing"),
        (5, "下单日期", None, "date_missing"),
        (5, "售价", None, "amount_missing"),
        (6, "手机", "1.38001E+10", "excel_scientific"),
    ]
    assert result.bad_rows == [3, 4, 5, 6]
    assert not result.fatal
    error = result.errors[1]
    assert error.message_en.startswith("“2024-02-30” is not a date")
    assert error.message("zh").startswith("“2024-02-30”不是可识别的日期")


def test_blank_summary_and_repeated_header_rows_are_skipped() -> None:
    text = (
        "姓名,日期,金额\n王丽,2024-03-05,100\n,,\n姓名,日期,金额\n陈静,2024-03-06,50\n合计,,150\n"
    )
    result = read_file(text.encode(), "orders")
    assert [r.row for r in result.rows] == [2, 5]
    assert result.skipped == {"blank": 1, "header_repeat": 1, "summary": 1}
    assert result.rows_read == 5


def test_multiline_cells_keep_excel_row_numbers() -> None:
    text = '姓名,日期,金额,备注\n王丽,2024-03-05,100,"第一行\n第二行"\n陈静,2024-03-06,x,\n'
    result = read_file(text.encode(), "orders")
    assert orders(result)[0].note == "第一行\n第二行"
    assert [(e.row, e.code) for e in result.errors] == [(3, "amount_invalid")]


def test_missing_columns_stop_the_file_and_keep_a_preview() -> None:
    text = "姓名,产品,数量\n王丽,面霜,1\n陈静,口红,2\n"
    result = read_file(text.encode(), "orders")
    assert result.fatal and result.rows == []
    assert [(e.code, e.params["fields"]) for e in result.errors] == [
        ("missing_columns", ["placed_at", "amount_or_price"])
    ]
    assert result.sample == [["王丽", "面霜", "1"], ["陈静", "口红", "2"]]
    assert result.missing_fields == ["placed_at", "amount_or_price"]


def test_cli_mapping_string_fixes_the_file() -> None:
    text = "客人,号码,哪天,付了,等级\n王丽,13800138000,2024-03-05,100,金卡\n"
    result = read_file(
        text.encode(), "orders", mapping_overrides="客人=name,号码=phone,哪天=date,付了=amount"
    )
    assert result.errors == []
    assert result.mapping == {
        "客人": "customer_name",
        "号码": "phone",
        "哪天": "placed_at",
        "付了": "amount",
    }
    assert result.unmapped_columns == ["等级"]
    (row,) = orders(result)
    assert (row.customer_name, row.phone, row.amount) == ("王丽", "13800138000", Decimal("100.00"))


def test_text_longer_than_the_model_allows() -> None:
    text = f"姓名,日期,金额,备注\n王丽,2024-03-05,100,{'很' * 201}\n"
    result = read_file(text.encode(), "orders")
    assert [(e.column, e.code, e.params) for e in result.errors] == [
        ("备注", "text_too_long", {"limit": 200})
    ]
    assert "200" in result.errors[0].message("zh")


def test_customers_file() -> None:
    text = (
        "会员编号,姓名,手机,性别,生日,城市,标签,微信,邮箱,入会日期\n"
        "M001,王丽,138 0013 8000,女,农历三月初五,上海,VIP，敏感肌,wangli,WL@QQ.COM,2023/1/2\n"
        "M002,陈静,,男,1990-03-05,杭州,,,,\n"
        "M003,,,猫,3月40日,,,,,\n"
    )
    result = read_file(text.encode("gbk"), "customers")
    first, second = result.rows
    assert isinstance(first, ParsedCustomerRow) and isinstance(second, ParsedCustomerRow)
    assert (first.external_id, first.name, first.phone, first.gender) == (
        "M001",
        "王丽",
        "13800138000",
        "f",
    )
    assert first.birthday == Birthday(3, 5, None, lunar=True)
    assert (first.city, first.tags, first.wechat) == ("上海", ("VIP", "敏感肌"), "wangli")
    assert (first.email, first.joined_at) == ("WL@qq.com", datetime(2023, 1, 2))
    assert (second.gender, second.birthday, second.tags) == ("m", Birthday(3, 5, 1990), ())
    assert [(e.row, e.column, e.code) for e in result.errors] == [
        (4, "性别", "gender_invalid"),
        (4, "生日", "birthday_invalid"),
        (4, None, "customer_name_or_phone_missing"),
    ]


def test_empty_and_unsupported_files() -> None:
    assert [e.code for e in read_file(b"", "orders").errors] == ["file_empty"]
    assert [e.code for e in read_file(b"\n\n,,\n", "orders").errors] == ["file_empty"]
    assert [
        e.code
        for e in read_file(b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 100, "orders").errors
    ] == ["file_unreadable"]  # an OLE2 header with nothing behind it
    assert [e.code for e in read_file(b"1,2\n3,4\n", "orders").errors] == ["header_not_found"]
    assert [e.code for e in read_file(b"a,b\n", "orders", fmt="xlsx").errors] == ["file_unreadable"]
    missing = read_file(Path("/nonexistent/file.csv"), "orders")
    assert [e.code for e in missing.errors] == ["file_unreadable"]


def test_unknown_kind_or_format_is_a_programming_error() -> None:
    with pytest.raises(ValueError):
        read_file(b"a", "products")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        read_file(b"a", "orders", fmt="xls")  # type: ignore[arg-type]


def test_file_like_upload_is_not_closed() -> None:
    upload = io.BytesIO(SHOP_CSV.encode("gbk"))
    check_shop_rows(read_file(upload, "orders"))
    assert not upload.closed


# --- idempotent keys -------------------------------------------------------------------------


def reference_key(
    customer: str, when: datetime, product: str, amount: str, occurrence: int = 0
) -> str:
    parts = [customer.casefold(), when.isoformat(), product.casefold(), amount, str(occurrence)]
    return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32]


def test_row_keys_are_stable_and_repeat_aware() -> None:
    text = (
        "姓名,手机,日期,商品,金额\n"
        "王丽,13800138000,2024-03-05 14:03,面霜,100\n"
        "王丽,13800138000,2024-03-05 14:03,面霜,100\n"  # a genuine second identical purchase
        "陈静,,2024-03-06,口红,50\n"
    )
    first = orders(read_file(text.encode(), "orders"))
    again = orders(read_file(text.encode("gbk"), "orders"))
    assert [r.row_key for r in first] == [r.row_key for r in again]
    assert first[0].row_key == reference_key(
        "13800138000", datetime(2024, 3, 5, 14, 3), "面霜", "100.00"
    )
    assert first[1].row_key == reference_key(
        "13800138000", datetime(2024, 3, 5, 14, 3), "面霜", "100.00", 1
    )
    assert first[2].row_key == reference_key("陈静", datetime(2024, 3, 6), "口红", "50.00")
    # An overlapping export (rows in another order, other columns) maps onto the same keys.
    overlap = "日期,姓名,手机,商品,金额,备注\n2024-03-06,陈静,,口红,50.00,\n"
    assert orders(read_file(overlap.encode(), "orders"))[0].row_key == first[2].row_key
    assert (
        row_key("13800138000", datetime(2024, 3, 5, 14, 3), "面霜", Decimal("100"))
        == first[0].row_key
    )


def test_rows_with_an_order_number_count_as_repeats_but_need_no_key() -> None:
    row = "王丽,13800138000,2024-03-05 14:03,面霜,100\n"
    text = "订单号,姓名,手机,日期,商品,金额\n" + "A1," + row + "," + row + "A2," + row + "," + row
    keyed = orders(read_file(text.encode(), "orders"))
    assert [r.row_key for r in keyed[::2]] == ["", ""]  # the order number is their key
    when = datetime(2024, 3, 5, 14, 3)
    assert [r.row_key for r in keyed[1::2]] == [
        reference_key("13800138000", when, "面霜", "100.00", 1),
        reference_key("13800138000", when, "面霜", "100.00", 3),
    ]


# --- XLSX ------------------------------------------------------------------------------------


def shop_workbook() -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    sheet.title = "说明"
    sheet["A1"] = "请看下一张表"
    data = workbook.create_sheet("3月订单")
    data.merge_cells("A1:H1")
    data["A1"] = "2024年3月 顾客消费记录（徐汇店）"
    data.append(["顾客姓名", "手机", "下单日期", "产品名称", "数量", "拿货价", "售价", "会员编号"])
    data.append(["王丽", 13800138000, 45356, "玫瑰精华水", 2, 45, 1128, 10023.0])  # serial date
    data.append([None] * 8)  # blank row inside the data
    data.append(["陈静", "13900139000", datetime(2024, 3, 6, 14, 3), "口红", 1, 60.5, 199.9, "M-2"])
    data.append([])
    data.append(["赵敏", "13700137000", "2024/3/7", "唇釉", 1.5, 30, 88, None])  # bad quantity
    data.append(["合计", None, None, None, 4.5, None, 1415.9, None])
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def test_xlsx_named_sheet_with_title_blank_rows_and_serial_dates(tmp_path: Path) -> None:
    path = tmp_path / "orders.xlsx"
    path.write_bytes(shop_workbook())
    result = read_file(path, "orders", sheet="3月订单")
    assert (result.format, result.sheet, result.header_row) == ("xlsx", "3月订单", 2)
    assert result.encoding is None
    first, second = orders(result)
    assert (first.row, first.customer_name, first.phone) == (3, "王丽", "13800138000")
    assert first.placed_at == datetime(2024, 3, 5)
    assert first.customer_external_id == "10023"  # not "10023.0"
    assert (first.quantity, first.unit_price, first.amount) == (
        2,
        Decimal("1128.00"),
        Decimal("2256.00"),
    )
    assert (second.row, second.placed_at) == (5, datetime(2024, 3, 6, 14, 3))
    assert (second.unit_cost, second.amount) == (Decimal("60.50"), Decimal("199.90"))
    assert [(e.row, e.column, e.code) for e in result.errors] == [(7, "数量", "quantity_invalid")]
    assert result.skipped == {"blank": 2, "summary": 1}


def test_xlsx_sheet_by_index_and_missing_sheet() -> None:
    data = shop_workbook()
    assert read_file(data, "orders", sheet=1).sheet == "3月订单"
    missing = read_file(data, "orders", sheet="4月")
    assert [e.code for e in missing.errors] == ["sheet_not_found"]
    assert "3月订单" in missing.errors[0].message("zh")
    # The first sheet is read by default; here it holds no table.
    assert [e.code for e in read_file(data, "orders").errors] == ["header_not_found"]


def test_xlsx_two_row_merged_header() -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["顾客消费表"])
    sheet.append(["姓名", "手机", "消费信息", None, None, "备注"])
    sheet.append([None, None, "日期", "商品", "金额", None])
    sheet.merge_cells("A1:F1")
    sheet.merge_cells("A2:A3")
    sheet.merge_cells("B2:B3")
    sheet.merge_cells("C2:E2")
    sheet.merge_cells("F2:F3")
    sheet.append(["王丽", "13800138000", datetime(2024, 3, 5), "面霜", 100, "生日当天"])
    out = io.BytesIO()
    workbook.save(out)
    result = read_file(out.getvalue(), "orders")
    assert result.errors == []
    assert result.mapping == {
        "姓名": "customer_name",
        "手机": "phone",
        "日期": "placed_at",
        "商品": "product_name",
        "金额": "amount",
        "备注": "note",
    }
    (row,) = orders(result)
    assert (row.row, row.customer_name, row.amount, row.note) == (
        4,
        "王丽",
        Decimal("100.00"),
        "生日当天",
    )


def test_xlsx_1904_workbook() -> None:
    workbook = Workbook()
    workbook.epoch = datetime(1904, 1, 1)  # type: ignore[assignment]
    sheet = workbook.active
    sheet.append(["姓名", "日期", "金额"])
    sheet.append(["王丽", 43894, 10])  # a plain number: 2024-03-05 counted from 1904
    out = io.BytesIO()
    workbook.save(out)
    (row,) = orders(read_file(out.getvalue(), "orders"))
    assert row.placed_at == datetime(2024, 3, 5)


# --- streaming -------------------------------------------------------------------------------


def test_iter_file_streams_rows_and_errors(tmp_path: Path) -> None:
    lines = ["姓名,手机,日期,商品,数量,售价"]
    for i in range(2000):
        price = "bad" if i % 500 == 0 else f"{i % 97}.5"
        lines.append(
            f"顾客{i},138{i:08d},2024-03-{i % 28 + 1:02d} 10:{i % 60:02d},商品{i % 13},{i % 3 + 1},{price}"
        )
    path = tmp_path / "big.csv"
    path.write_text("\n".join(lines) + "\n", encoding="gbk")
    seen_rows = seen_errors = 0
    total = Decimal(0)
    with iter_file(path, "orders") as stream:
        assert stream.result.mapping["售价"] == "unit_price"
        for item in stream:
            if isinstance(item, ParsedOrderRow):
                seen_rows += 1
                total += item.amount
            else:
                seen_errors += 1
    assert (seen_rows, seen_errors) == (1996, 4)
    expected = sum(
        (Decimal(f"{i % 97}.5") * (i % 3 + 1) for i in range(2000) if i % 500 != 0), Decimal(0)
    )
    assert total == expected
    assert stream.result.rows_read == 2000


def test_ids_that_excel_shortened_are_refused() -> None:
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["订单号", "姓名", "日期", "金额"])
    sheet.append([4.2000012345678904e18, "王丽", "2024-03-05", 10])  # an id typed as a number
    sheet.append(["4.20000E+18", "陈静", "2024-03-05", 10])  # the same after a CSV round trip
    sheet.append([10023, "赵敏", "2024-03-05", 10])
    out = io.BytesIO()
    workbook.save(out)
    result = read_file(out.getvalue(), "orders")
    assert [(e.row, e.column, e.code) for e in result.errors] == [
        (2, "订单号", "excel_scientific"),
        (3, "订单号", "excel_scientific"),
    ]
    assert [r.external_id for r in orders(result)] == ["10023"]


def test_every_error_code_has_both_messages() -> None:
    import re

    from huitouke.imports import bills, mapping, parsing, readers
    from huitouke.imports.rows import MESSAGES

    codes: set[str] = set()
    for module in (bills, mapping, parsing, readers):
        source = Path(module.__file__ or "").read_text(encoding="utf-8")
        codes |= set(re.findall(r'ParseError\(\s*"([a-z_]+)"', source))
        codes |= set(re.findall(r'_problem\(\s*"([a-z_]+)"', source))
        for start in (m.end() for m in re.finditer(r"make_error\(", source)):
            # The code is the first quoted word passed as an argument: `, "code",` or `, "code")`.
            found = re.search(r',\s*"([a-z_]+)"\s*[,)]', source[start : start + 200])
            if found:
                codes.add(found.group(1))
    assert len(codes) > 20
    for code in codes:
        # A gettext msgid the Chinese catalogue translates (English is the msgid itself).
        with translation.override("en"):
            english = str(MESSAGES[code])
        with translation.override("zh-hans"):
            chinese = str(MESSAGES[code])
        assert english and chinese != english, code


def test_invisible_marks_and_number_cells_in_text_columns() -> None:
    text = "姓名,日期,金额,门店\n\u200b王丽\ufeff,2024-03-05,10,1001\n"
    (row,) = orders(read_file(text.encode(), "orders"))
    assert (row.customer_name, row.store) == ("王丽", "1001")
