"""WeChat Pay and Alipay bills: income becomes orders, refunds become refunds, payers are remembered."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from tests.helpers import make_customer

from huitouke.customers.models import Customer
from huitouke.imports.actions import do_commit_import, do_confirm_payers
from huitouke.imports.models import ImportJob, PayerAlias
from huitouke.imports.summary import GOOD_ROWS
from huitouke.sales.models import Order, Refund

pytestmark = pytest.mark.django_db

# 微信 > 钱包 > 账单 > 下载账单 (用于个人对账): UTF-8 with BOM, a summary block, ids padded with tabs.
WECHAT = """微信支付账单明细,,,,,,,,,,
微信昵称：[花花美妆],,,,,,,,,,
起始时间：[2024-03-01 00:00:00] 终止时间：[2024-03-31 23:59:59],,,,,,,,,,
导出类型：[全部],,,,,,,,,,
导出时间：[2024-04-01 10:12:30],,,,,,,,,,
,,,,,,,,,,
共8笔记录,,,,,,,,,,
收入：5笔 1546.00元,,,,,,,,,,
支出：3笔 115.50元,,,,,,,,,,
中性交易：0笔 0.00元,,,,,,,,,,
注：,,,,,,,,,,
1. 充值/提现/理财通购买/零钱通存取/信用卡还款等交易，将计入中性交易,,,,,,,,,,
2. 本明细仅展示当前账单中的交易，不包括已删除的记录,,,,,,,,,,
3. 本明细仅供个人对账使用,,,,,,,,,,
,,,,,,,,,,
----------------------微信支付账单明细列表--------------------,,,,,,,,,,
交易时间,交易类型,交易对方,商品,收/支,金额(元),支付方式,当前状态,交易单号,商户单号,备注
2024-03-31 20:15:01,二维码收款,小美🌸,/,收入,¥268.00,/,已收钱,10001071012024033100123456789\t,/,/
2024-03-30 18:02:44,转账,Lily,转账备注:面霜尾款,收入,¥500.00,/,已收钱,1000050001202403300123456789\t,/,/
2024-03-29 10:00:00,转账-退款,小美🌸,/,支出,¥68.00,零钱,已退款,1000050001202403290000000077\t,/,/
2024-03-28 12:30:00,商户消费,美团,美团订单-午餐,支出,¥35.00,零钱,支付成功,4200002161202403286543210987\t,10000000001234\t,/
2024-03-25 09:00:10,二维码收款,王丽,/,收入,¥300.00,/,已全额退款,10001071012024032500111122223\t,/,/
2024-03-20 15:45:00,二维码收款,陈静,/,收入,¥378.00,/,已退款(￥78.00),10001071012024032000333344445\t,/,/
2024-03-15 11:00:00,二维码收款,小美🌸,/,收入,¥100.00,/,已收钱,10001071012024031500555566667\t,/,/
2024-03-10 08:08:08,微信红包,发给赵敏,/,支出,¥12.50,零钱,支付成功,1000039501202403100000000002\t,/,/
"""

# 支付宝 web export (交易记录明细查询): GBK, padded columns, a trailing comma, totals after.
ALIPAY = """支付宝交易记录明细查询
账号:[huahua@example.com]
起始日期:[2024-03-01 00:00:00]    终止日期:[2024-04-01 00:00:00]
---------------------------------交易记录明细列表------------------------------------
交易号                  ,商家订单号               ,交易创建时间              ,付款时间                ,最近修改时间              ,交易来源地     ,类型              ,交易对方            ,商品名称                ,金额（元）   ,收/支     ,交易状态    ,服务费（元）   ,成功退款（元）  ,备注                  ,资金状态     ,
2024030522001412341234567890\t,T200P1234567890123456\t,2024-03-05 14:03:11 ,2024-03-05 14:03:15 ,2024-03-05 14:03:15 ,其他（包括阿里巴巴和外部商家）,即时到账交易          ,王丽                ,玫瑰精华水                ,268.00  ,收入      ,交易成功    ,0.00     ,0.00     ,                    ,已收入      ,
2024030622001412341234567891\t,\t,2024-03-06 10:00:00 ,2024-03-06 10:00:05 ,2024-03-08 09:00:00 ,其他（包括阿里巴巴和外部商家）,即时到账交易          ,陈静                ,口红                ,199.00  ,收入      ,交易关闭    ,0.00     ,199.00   ,                    ,已收入      ,
2024030722001498765432109876\t,T200P99999\t,2024-03-07 12:00:00 ,2024-03-07 12:00:01 ,2024-03-07 12:00:01 ,淘宝    ,即时到账交易          ,某某旗舰店            ,化妆棉                ,19.90   ,支出      ,交易成功    ,0.00     ,0.00     ,                    ,已支出      ,
------------------------------------------------------------------------------------
共3笔记录
已收入:2笔,467.00元
待收入:0笔,0.00元
已支出:1笔,19.90元
待支出:0笔,0.00元
导出时间:[2024-04-01 10:00:00]
"""


def write(tmp_path: Path, name: str, text: str, encoding: str) -> Path:
    path = tmp_path / name
    path.write_bytes(text.encode(encoding))
    return path


def run(path: Path, store: Any, **options: Any) -> Any:
    options.setdefault("actor", None)
    return do_commit_import(
        path, organisation=store.organisation, store=store, kind="orders", **options
    )


def spend(name: str) -> tuple[int, Decimal]:
    stats = Customer.objects.get(name=name).stats
    return stats.orders_count, stats.net_spend


def test_a_wechat_bill_becomes_orders_refunds_and_remembered_payers(tmp_path, store1):
    path = write(tmp_path, "微信支付账单.csv", WECHAT, "utf-8-sig")
    summary = run(path, store1)
    assert summary.errors == [] and summary.format == "wechat"
    assert (summary.details["orders_created"], summary.details["refunds_created"]) == (5, 3)
    assert summary.skipped_reasons == {"expense": 2}
    assert Order.objects.count() == 5 and Refund.objects.count() == 3
    # Payers became customers named by their nickname, remembered for the next bill.
    assert sorted(Customer.objects.values_list("name", flat=True)) == [
        "Lily",
        "小美🌸",
        "王丽",
        "陈静",
    ]
    assert PayerAlias.objects.filter(platform="wechat").count() == 4
    wang = Order.objects.get(customer__name="王丽")
    assert (wang.status, wang.refunded_amount) == ("refunded", Decimal("300.00"))
    # The 68.00 refund names no payment: it goes to 小美's payment before it (15 March).
    mei = Order.objects.get(external_id="10001071012024031500555566667")
    assert mei.refunded_amount == Decimal("68.00")
    assert Refund.objects.get(external_id="1000050001202403290000000077").order == mei
    assert spend("小美🌸") == (2, Decimal("300.00"))
    assert spend("陈静") == (1, Decimal("300.00"))
    assert spend("王丽") == (0, Decimal("0.00"))

    again = run(path, store1)
    assert (again.created, again.errors) == (0, [])
    assert (Order.objects.count(), Refund.objects.count(), Customer.objects.count()) == (5, 3, 4)


def test_an_alipay_bill_in_gbk(tmp_path, store1):
    summary = run(write(tmp_path, "alipay_record.csv", ALIPAY, "gbk"), store1)
    assert summary.errors == [] and summary.format == "alipay"
    assert summary.created == 3  # two payments and the refund of the second
    chen = Order.objects.get(customer__name="陈静")
    assert (chen.net_paid, chen.status) == (Decimal("199.00"), "refunded")
    assert Order.objects.get(customer__name="王丽").net_paid == Decimal("268.00")


def test_a_payer_confirmed_once_is_linked_in_every_later_bill(tmp_path, org, store1):
    lin = make_customer(org, name="林晓雨", phone="13800138000")
    path = write(tmp_path, "微信支付账单.csv", WECHAT, "utf-8-sig")
    job = ImportJob.objects.create(
        organisation=org, store=store1, kind="orders", path=str(path), original_name="bill.csv"
    )
    preview = run(path, store1, dry_run=True)
    assert {p["payer"]: p["match"] for p in preview.payers.values()} == {
        "小美🌸": "new",
        "Lily": "new",
        "王丽": "new",
        "陈静": "new",
    }
    assert Order.objects.count() == 0
    job.detected_format = preview.format
    job.save()
    do_confirm_payers(job, actor=None, choices={"小美🌸": lin.pk, "Lily": None, "王丽": "new"})
    summary = run(path, store1)
    assert summary.errors == []
    assert Order.objects.filter(customer=lin).count() == 2
    assert Order.objects.get(external_id="1000050001202403300123456789").customer is None  # Lily
    assert not Customer.objects.filter(name__in=["小美🌸", "Lily"]).exists()
    assert Customer.objects.get(pk=lin.pk).stats.orders_count == 2


def test_an_ambiguous_payer_is_a_row_error_until_confirmed(tmp_path, org, store1):
    make_customer(org, name="王丽", phone="13800000001")
    second = make_customer(org, name="王丽", phone="13800000002")
    path = write(tmp_path, "bill.csv", WECHAT, "utf-8-sig")
    summary = run(path, store1, mode=GOOD_ROWS)
    assert [(e.row, e.column, e.code) for e in summary.errors] == [
        (22, "交易对方", "customer_ambiguous"),
        (22, "交易单号", "refund_order_not_found"),  # its refund has no payment to go to
    ]
    assert summary.payers["王丽"]["match"] == "ambiguous"
    assert len(summary.payers["王丽"]["candidates"]) == 2
    assert not Order.objects.filter(customer__name="王丽").exists()
    PayerAlias.objects.create(organisation=org, platform="wechat", payer="王丽", customer=second)
    assert run(path, store1, mode=GOOD_ROWS).errors == []
    assert second.orders.count() == 1
