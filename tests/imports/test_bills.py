"""WeChat Pay and Alipay bill exports, personal and merchant, in their export layouts."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from openpyxl import Workbook

from huitouke.imports.bills import detect_bill
from huitouke.imports.readers import read_file
from huitouke.imports.rows import ParsedOrderRow, ReadResult

# WeChat personal bill (微信 > 钱包 > 账单 > 下载账单 > 用于个人对账): UTF-8 with BOM, 16 lines
# of account summary, then the table; ids carry a trailing tab so Excel keeps them as text.
WECHAT_PERSONAL = """微信支付账单明细,,,,,,,,
微信昵称：[花花美妆],,,,,,,,
起始时间：[2024-03-01 00:00:00] 终止时间：[2024-03-31 23:59:59],,,,,,,,
导出类型：[全部],,,,,,,,
导出时间：[2024-04-01 10:12:30],,,,,,,,
,,,,,,,,
共8笔记录,,,,,,,,
收入：5笔 1458.50元,,,,,,,,
支出：2笔 47.50元,,,,,,,,
中性交易：1笔 500.00元,,,,,,,,
注：,,,,,,,,
1. 充值/提现/理财通购买/零钱通存取/信用卡还款等交易，将计入中性交易,,,,,,,,
2. 本明细仅展示当前账单中的交易，不包括已删除的记录,,,,,,,,
3. 本明细仅供个人对账使用,,,,,,,,
,,,,,,,,
----------------------微信支付账单明细列表--------------------,,,,,,,,
交易时间,交易类型,交易对方,商品,收/支,金额(元),支付方式,当前状态,交易单号,商户单号,备注
2024-03-31 20:15:01,二维码收款,小美🌸,/,收入,¥268.00,/,已收钱,10001071012024033100123456789\t,/,/
2024-03-30 18:02:44,转账,Lily,转账备注:面霜尾款,收入,¥500.00,/,已收钱,1000050001202403300123456789\t,/,/
2024-03-28 12:30:00,商户消费,美团,美团订单-午餐,支出,¥35.00,零钱,支付成功,4200002161202403286543210987\t,10000000001234\t,/
2024-03-25 09:00:10,二维码收款,王丽,/,收入,¥300.00,/,已全额退款,10001071012024032500111122223\t,/,/
2024-03-20 15:45:00,二维码收款,陈静,/,收入,¥378.00,/,已退款(￥78.00),10001071012024032000333344445\t,/,/
2024-03-18 10:00:00,零钱提现,招商银行(1234),/,/,¥500.00,招商银行(1234),提现已到账,2024031800000000000012345\t,/,服务费¥0.50
2024-03-15 11:11:11,京东商城平台商户-退款,京东,京东订单退款,收入,¥12.50,/,已全额退款,50300003012024031500000000001\t,/,/
2024-03-10 08:08:08,微信红包,发给赵敏,/,支出,¥12.50,零钱,支付成功,1000039501202403100000000002\t,/,/
"""

# WeChat Pay merchant platform transaction bill: every value prefixed with ` and a totals block.
WECHAT_MERCHANT = """交易时间,公众账号ID,商户号,特约商户号,设备号,微信订单号,商户订单号,用户标识,交易类型,交易状态,付款银行,货币种类,应结订单金额,代金券金额,微信退款单号,商户退款单号,退款金额,充值券退款金额,退款类型,退款状态,商品名称,商户数据包,手续费,费率,订单金额,申请退款金额,费率备注
`2024-03-05 14:03:11,`wx2421b1c4370ec43b,`10000100,`0,`,`4200001234202403051234567890,`HT20240305001,`oUpF8uMuAJO_M2pxb1Q9zNjWeS6o,`NATIVE,`SUCCESS,`CMB_CREDIT,`CNY,`268.00,`20.00,`0,`0,`0.00,`0.00,`,`,`玫瑰精华水,`,`1.61000,`0.60%,`288.00,`0.00,`
`2024-03-06 10:00:00,`wx2421b1c4370ec43b,`10000100,`0,`,`4200001234202403061234567891,`HT20240306002,`oUpF8uMuAJO_Xc7pzQ2,`JSAPI,`REFUND,`OTHERS,`CNY,`0.00,`0.00,`50000301234202403061234567,`RF20240306001,`100.00,`0.00,`ORIGINAL,`SUCCESS,`口红,`,`-0.60000,`0.60%,`0.00,`100.00,`
`2024-03-07 09:30:00,`wx2421b1c4370ec43b,`10000100,`0,`,`4200001234202403071234567892,`HT20240307003,`oUpF8uMuAJO_Qq9,`MICROPAY,`REVOKED,`OTHERS,`CNY,`0.00,`0.00,`0,`0,`0.00,`0.00,`,`,`眼霜,`,`0.00000,`0.60%,`99.00,`0.00,`
总交易单数,应结订单总金额,退款总金额,充值券退款总金额,手续费总金额,订单总金额,申请退款总金额
`3,`268.00,`100.00,`0.00,`1.01000,`387.00,`100.00
"""

# Alipay web export (支付宝交易记录明细查询): GBK, padded columns, trailing comma, summary after.
ALIPAY_PERSONAL = """支付宝交易记录明细查询
账号:[huahua@example.com]
起始日期:[2024-03-01 00:00:00]    终止日期:[2024-04-01 00:00:00]
---------------------------------交易记录明细列表------------------------------------
交易号                  ,商家订单号               ,交易创建时间              ,付款时间                ,最近修改时间              ,交易来源地     ,类型              ,交易对方            ,商品名称                ,金额（元）   ,收/支     ,交易状态    ,服务费（元）   ,成功退款（元）  ,备注                  ,资金状态     ,
2024030522001412341234567890\t,T200P1234567890123456\t,2024-03-05 14:03:11 ,2024-03-05 14:03:15 ,2024-03-05 14:03:15 ,其他（包括阿里巴巴和外部商家）,即时到账交易          ,王丽                ,玫瑰精华水                ,268.00  ,收入      ,交易成功    ,0.00     ,0.00     ,                    ,已收入      ,
2024030622001412341234567891\t,\t,2024-03-06 10:00:00 ,2024-03-06 10:00:05 ,2024-03-08 09:00:00 ,其他（包括阿里巴巴和外部商家）,即时到账交易          ,陈静                ,口红                ,199.00  ,收入      ,交易关闭    ,0.00     ,199.00   ,                    ,已收入      ,
2024030722001498765432109876\t,T200P99999\t,2024-03-07 12:00:00 ,2024-03-07 12:00:01 ,2024-03-07 12:00:01 ,淘宝    ,即时到账交易          ,某某旗舰店            ,化妆棉                ,19.90   ,支出      ,交易成功    ,0.00     ,0.00     ,                    ,已支出      ,
2024030822001400000000000001\t,\t,2024-03-08 08:00:00 ,2024-03-08 08:00:00 ,2024-03-08 08:00:00 ,其他    ,即时到账交易      ,余额宝              ,余额宝-自动转入        ,100.00  ,         ,交易成功    ,0.00     ,0.00     ,                    ,资金转移    ,
------------------------------------------------------------------------------------
共4笔记录
已收入:2笔,467.00元
待收入:0笔,0.00元
已支出:1笔,19.90元
待支出:0笔,0.00元
导出时间:[2024-04-01 10:00:00]
"""

# Alipay app export (开具交易流水证明 > 用于个人对账): GBK, a notice block, then the table.
ALIPAY_MOBILE = """------------------------------------------------------------------------------------
导出信息：
姓名：花花
支付宝账户：huahua@example.com
起始时间：[2024-03-01 00:00:00]    终止时间：[2024-03-31 23:59:59]
导出交易类型：[全部]
导出时间：[2024-04-01 10:00:00]
共4笔记录
收入：1笔 128.00元
支出：1笔 35.00元
不计收支：2笔 135.00元

特别提示：
1.本回单内容可表明支付宝受理了相关交易申请，不代表交易成功。
2.支付宝不对本回单的真实性负责。
------------------------支付宝（中国）网络技术有限公司  电子客户回单------------------------
交易时间,交易分类,交易对方,对方账号,商品说明,收/支,金额,收/付款方式,交易状态,交易订单号,商家订单号,备注,
2024-03-05 14:03:11,收入,王丽,wan***@163.com,收钱码收款,收入,128.00,余额,交易成功,20240305200040011100000000000001\t,\t,,
2024-03-06 12:00:00,餐饮美食,某某餐厅,caf***@alipay.com,午餐,支出,35.00,余额宝,交易成功,2024030622001400000000000002\t,T20240306\t,,
2024-03-07 09:00:00,退款,某某旗舰店,tmall***@tmall.com,退款-化妆棉,不计收支,100.00,余额,退款成功,2024030722001400000000000003_R1\t,\t,,
2024-03-08 10:00:00,投资理财,余额宝,,余额宝-自动转入,不计收支,35.00,余额,交易成功,20240308000000000000000004\t,\t,,
"""

# Alipay merchant business detail (支付宝业务明细查询): GBK, '#' comment lines around the table.
ALIPAY_MERCHANT = """#支付宝业务明细查询
#账号：[20881234567890120156]
#起始日期：[2024年03月01日 00:00:00]   终止日期：[2024年04月01日 00:00:00]
#-----------------------------------------业务明细列表----------------------------------------
支付宝交易号,商户订单号,业务类型,商品名称,创建时间,完成时间,门店编号,门店名称,操作员,终端号,对方账户,订单金额（元）,商家实收（元）,支付宝红包（元）,集分宝（元）,支付宝优惠（元）,商家优惠（元）,券核销金额（元）,券名称,商家红包消费金额（元）,卡消费金额（元）,退款批次号/请求号,服务费（元）,分润（元）,备注
2024030522001412340000000001\t,HT20240305001\t,交易\t,玫瑰精华水\t,2024-03-05 14:03:00\t,2024-03-05 14:03:05\t,XH01\t,徐汇店\t,小周\t,\t,wan***@163.com\t,288.00\t,268.00\t,0.00\t,0.00\t,0.00\t,20.00\t,0.00\t,\t,0.00\t,0.00\t,\t,-1.61\t,0.00\t,
2024030522001412340000000001\t,HT20240305001\t,退款\t,玫瑰精华水\t,2024-03-06 10:00:00\t,2024-03-06 10:00:02\t,XH01\t,徐汇店\t,小周\t,\t,wan***@163.com\t,-100.00\t,-100.00\t,0.00\t,0.00\t,0.00\t,0.00\t,0.00\t,\t,0.00\t,0.00\t,HT20240305001R1\t,0.60\t,0.00\t,
#-----------------------------------------业务明细列表结束------------------------------------
#交易合计：1笔，商家实收共268.00元，商家优惠共20.00元
#退款合计：1笔，商家实收退款共-100.00元，商家优惠退款共0.00元
#导出时间：[2024年04月01日 10:00:00]
"""


def orders(result: ReadResult) -> list[ParsedOrderRow]:
    rows = [r for r in result.rows if isinstance(r, ParsedOrderRow)]
    assert len(rows) == len(result.rows)
    return rows


def write(tmp_path: Path, name: str, text: str, encoding: str) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def check_wechat_personal(result: ReadResult) -> None:
    assert (result.format, result.variant, result.header_row) == ("wechat", "personal", 17)
    assert result.errors == []
    got = [(o.row, o.nickname, o.amount, o.placed_at, o.external_id) for o in orders(result)]
    assert got == [
        (
            18,
            "小美🌸",
            Decimal("268.00"),
            datetime(2024, 3, 31, 20, 15, 1),
            "10001071012024033100123456789",
        ),
        (
            19,
            "Lily",
            Decimal("500.00"),
            datetime(2024, 3, 30, 18, 2, 44),
            "1000050001202403300123456789",
        ),
        (
            21,
            "王丽",
            Decimal("300.00"),
            datetime(2024, 3, 25, 9, 0, 10),
            "10001071012024032500111122223",
        ),
        (
            22,
            "陈静",
            Decimal("378.00"),
            datetime(2024, 3, 20, 15, 45),
            "10001071012024032000333344445",
        ),
    ]
    first = orders(result)[0]
    assert (first.source, first.product_name, first.merchant_order_id, first.note) == (
        "wechat",
        "二维码收款",
        None,
        None,
    )
    assert orders(result)[1].product_name == "转账备注:面霜尾款"
    refunds = [(r.row, r.amount, r.original_external_id, r.nickname) for r in result.refunds]
    assert refunds == [
        (21, Decimal("300.00"), "10001071012024032500111122223", "王丽"),  # 已全额退款
        (22, Decimal("78.00"), "10001071012024032000333344445", "陈静"),  # 已退款(￥78.00)
    ]
    assert result.skipped == {"expense": 2, "neutral": 1, "refund_received": 1}


def test_wechat_personal_csv(tmp_path: Path) -> None:
    result = read_file(
        write(tmp_path, "微信支付账单(20240301-20240331).csv", WECHAT_PERSONAL, "utf-8-sig"),
        "orders",
    )
    assert result.encoding == "utf-8-sig"
    check_wechat_personal(result)


def test_wechat_personal_xlsx(tmp_path: Path) -> None:
    # Newer WeChat exports are .xlsx with the same block and table.
    workbook = Workbook()
    sheet = workbook.active
    for cells in csv.reader(io.StringIO(WECHAT_PERSONAL)):
        sheet.append([c or None for c in cells])
    path = tmp_path / "微信支付账单.xlsx"
    workbook.save(path)
    result = read_file(path, "orders", fmt="wechat")
    assert result.container == "xlsx"
    check_wechat_personal(result)


def test_wechat_merchant_bill(tmp_path: Path) -> None:
    result = read_file(
        write(tmp_path, "trade.csv", WECHAT_MERCHANT, "utf-8"), "orders", fmt="wechat"
    )
    assert (result.format, result.variant, result.header_row) == ("wechat", "merchant", 1)
    assert result.errors == []
    (order,) = orders(result)
    assert (order.row, order.placed_at) == (2, datetime(2024, 3, 5, 14, 3, 11))
    assert (order.amount, order.discount) == (
        Decimal("268.00"),
        Decimal("20.00"),
    )  # 288 − 20 coupon
    assert (order.external_id, order.merchant_order_id) == (
        "4200001234202403051234567890",
        "HT20240305001",
    )
    assert (order.payer_id, order.product_name) == ("oUpF8uMuAJO_M2pxb1Q9zNjWeS6o", "玫瑰精华水")
    (refund,) = result.refunds
    assert (refund.row, refund.amount, refund.refunded_at) == (
        3,
        Decimal("100.00"),
        datetime(2024, 3, 6, 10),
    )
    assert (refund.external_id, refund.original_external_id, refund.merchant_order_id) == (
        "50000301234202403061234567",
        "4200001234202403061234567891",
        "HT20240306002",
    )
    assert result.skipped == {"revoked": 1, "summary": 2}


def test_alipay_personal_web_export(tmp_path: Path) -> None:
    result = read_file(write(tmp_path, "alipay_record.csv", ALIPAY_PERSONAL, "gbk"), "orders")
    assert (result.format, result.variant, result.encoding, result.header_row) == (
        "alipay",
        "personal",
        "gbk",
        5,
    )
    assert result.errors == []
    got = [
        (o.row, o.nickname, o.product_name, o.amount, o.placed_at, o.external_id)
        for o in orders(result)
    ]
    assert got == [
        (
            6,
            "王丽",
            "玫瑰精华水",
            Decimal("268.00"),
            datetime(2024, 3, 5, 14, 3, 15),
            "2024030522001412341234567890",
        ),
        (
            7,
            "陈静",
            "口红",
            Decimal("199.00"),
            datetime(2024, 3, 6, 10, 0, 5),
            "2024030622001412341234567891",
        ),
    ]
    assert orders(result)[0].merchant_order_id == "T200P1234567890123456"
    (refund,) = result.refunds  # 交易关闭 with 成功退款 199.00: sold, then refunded in full
    assert (refund.row, refund.amount, refund.refunded_at, refund.original_external_id) == (
        7,
        Decimal("199.00"),
        datetime(2024, 3, 8, 9),
        "2024030622001412341234567891",
    )
    assert result.skipped == {"expense": 1, "neutral": 1, "summary": 7}


def test_alipay_app_export(tmp_path: Path) -> None:
    result = read_file(
        write(tmp_path, "alipay_app.csv", ALIPAY_MOBILE, "gbk"), "orders", fmt="alipay"
    )
    assert (result.format, result.variant, result.header_row) == ("alipay", "personal", 17)
    assert result.errors == []
    (order,) = orders(result)
    assert (order.row, order.nickname, order.payer_id, order.amount) == (
        18,
        "王丽",
        "wan***@163.com",
        Decimal("128.00"),
    )
    assert (order.external_id, order.merchant_order_id) == (
        "20240305200040011100000000000001",
        None,
    )
    assert (order.placed_at, order.product_name) == (datetime(2024, 3, 5, 14, 3, 11), "收钱码收款")
    assert result.refunds == []
    assert result.skipped == {"expense": 1, "neutral": 2}


def test_alipay_merchant_bill(tmp_path: Path) -> None:
    result = read_file(
        write(tmp_path, "20881234567890120156_业务明细.csv", ALIPAY_MERCHANT, "gbk"), "orders"
    )
    assert (result.format, result.variant, result.header_row) == ("alipay", "merchant", 5)
    assert result.errors == []
    (order,) = orders(result)
    assert (order.row, order.amount, order.discount) == (6, Decimal("268.00"), Decimal("20.00"))
    assert (order.store, order.staff, order.payer_id) == ("徐汇店", "小周", "wan***@163.com")
    assert order.placed_at == datetime(2024, 3, 5, 14, 3, 5)
    assert (order.external_id, order.merchant_order_id) == (
        "2024030522001412340000000001",
        "HT20240305001",
    )
    (refund,) = result.refunds
    assert (refund.row, refund.amount, refund.refunded_at) == (
        7,
        Decimal("100.00"),
        datetime(2024, 3, 6, 10, 0, 2),
    )
    assert (refund.external_id, refund.original_external_id) == (
        "HT20240305001R1",
        "2024030522001412340000000001",
    )
    assert result.skipped == {"summary": 4}


def test_bad_bill_rows_are_reported_with_their_row() -> None:
    broken = WECHAT_PERSONAL.replace("¥268.00", "¥2б8.00").replace(
        "2024-03-30 18:02:44", "2024-13-30 18:02:44"
    )
    result = read_file(broken.encode("utf-8-sig"), "orders")
    assert [(e.row, e.column, e.value, e.code) for e in result.errors] == [
        (18, "金额(元)", "¥2б8.00", "amount_invalid"),
        (19, "交易时间", "2024-13-30 18:02:44", "date_invalid"),
    ]
    assert [o.row for o in orders(result)] == [21, 22]


def test_wrong_platform_or_kind_is_refused(tmp_path: Path) -> None:
    wechat = WECHAT_PERSONAL.encode("utf-8-sig")
    assert [e.code for e in read_file(wechat, "orders", fmt="alipay").errors] == [
        "bill_not_recognised"
    ]
    assert "支付宝" in read_file(wechat, "orders", fmt="alipay").errors[0].message("zh")
    assert [e.code for e in read_file(wechat, "customers").errors] == ["bill_not_customers"]
    plain = "姓名,日期,金额\n王丽,2024-03-05,100\n".encode()
    assert [e.code for e in read_file(plain, "orders", fmt="wechat").errors] == [
        "bill_not_recognised"
    ]


def test_bill_keys_are_stable_across_reads() -> None:
    first = read_file(ALIPAY_PERSONAL.encode("gbk"), "orders")
    again = read_file(ALIPAY_PERSONAL.encode("utf-8"), "orders")
    assert [o.row_key for o in first.rows] == [o.row_key for o in again.rows]
    assert [r.row_key for r in first.refunds] == [r.row_key for r in again.refunds]
    keys = [o.row_key for o in first.rows] + [r.row_key for r in first.refunds]
    assert len(set(keys)) == len(keys) and all(len(k) == 32 for k in keys)


@pytest.mark.parametrize(
    ("text", "name"),
    [
        (WECHAT_PERSONAL, "wechat_personal"),
        (WECHAT_MERCHANT, "wechat_merchant"),
        (ALIPAY_PERSONAL, "alipay_personal"),
        (ALIPAY_MOBILE, "alipay_mobile"),
        (ALIPAY_MERCHANT, "alipay_merchant"),
    ],
)
def test_detect_bill_layouts(text: str, name: str) -> None:
    layout = detect_bill(list(csv.reader(io.StringIO(text))))
    assert layout is not None and layout.name == name


def test_ordinary_table_is_not_a_bill() -> None:
    assert detect_bill([["交易时间", "顾客", "金额"], ["2024-03-05", "王丽", "100"]]) is None
