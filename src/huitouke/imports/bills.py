"""WeChat Pay and Alipay bill exports (personal and merchant): layout detection and row rules.

A bill is the account holder's own ledger. For a store, money received from a customer is a
sale (an order row); money paid back to a customer is a refund. The account's own purchases
(支出), their refunds, transfers between own accounts (中性/不计收支) and the summary lines
around the table are counted and left out.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from huitouke.imports.parsing import CellValue, ParseError, clean_text, parse_amount, parse_datetime
from huitouke.imports.rows import ParsedOrderRow, ParsedRefundRow, RowError, make_error

KeyMaker = Callable[[str, datetime, str | None, Decimal], str]


def bill_key(text: object) -> str:
    """A bill column name folded for lookup: NFKC (（元） -> (元)), no spaces, tabs or ` marks."""
    return re.sub(r"[\s`#]", "", unicodedata.normalize("NFKC", str(text or "")))


@dataclass(frozen=True)
class BillLayout:
    """Which bill this is and where its table starts."""

    platform: str  # "wechat" or "alipay"
    variant: str  # "personal" or "merchant"
    name: str  # wechat_personal, wechat_merchant, alipay_personal, alipay_mobile, alipay_merchant
    header_index: int  # position of the header among the rows given to detect_bill
    columns: dict[str, int]  # bill_key(column) -> position


# Columns that identify each export; every one must be in the header row.
_SIGNATURES: tuple[tuple[str, str, str, frozenset[str]], ...] = (
    ("wechat", "merchant", "wechat_merchant", frozenset({"交易时间", "微信订单号", "商户订单号", "交易状态"})),
    ("wechat", "personal", "wechat_personal", frozenset({"交易时间", "交易类型", "交易对方", "收/支", "当前状态"})),
    ("alipay", "merchant", "alipay_merchant", frozenset({"支付宝交易号", "商户订单号", "业务类型"})),
    ("alipay", "personal", "alipay_personal", frozenset({"交易号", "交易创建时间", "收/支", "交易状态"})),
    ("alipay", "personal", "alipay_mobile", frozenset({"交易时间", "交易分类", "交易对方", "收/支", "交易状态"})),
)  # fmt: skip


def detect_bill(rows: Sequence[Sequence[CellValue]]) -> BillLayout | None:
    """The bill layout whose header row appears among `rows`, or None for an ordinary table."""
    for index, cells in enumerate(rows):
        keys = [bill_key(c) for c in cells]
        present = set(keys)
        if len(present) < 3:
            continue
        for platform, variant, name, needed in _SIGNATURES:
            if needed <= present:
                columns: dict[str, int] = {}
                for position, key in enumerate(keys):
                    if key:
                        columns.setdefault(key, position)
                return BillLayout(platform, variant, name, index, columns)
    return None


class _Row:
    """Cells of one bill row by column name, cleaned of the exports' tab and ` padding."""

    __slots__ = ("cells", "columns", "number")

    def __init__(self, number: int, cells: Sequence[CellValue], columns: dict[str, int]) -> None:
        self.number, self.cells, self.columns = number, cells, columns

    def raw(self, *names: str) -> CellValue:
        for name in names:
            index = self.columns.get(name)
            if index is not None and index < len(self.cells):
                value = self.cells[index]
                if value is not None and (not isinstance(value, str) or _clean(value)):
                    return value
        return None

    def text(self, *names: str) -> str | None:
        value = self.raw(*names)
        if value is None:
            return None
        text = _clean(clean_text(value))
        return None if text in ("", "/", "-") else text

    def column(self, *names: str) -> str:
        for name in names:
            if name in self.columns:
                return name
        return names[0]


def _clean(text: str) -> str:
    return text.strip().strip("`").strip()


class _Bad(Exception):
    def __init__(self, error: RowError) -> None:
        self.error = error


def _amount(row: _Row, *names: str, allow_negative: bool = False) -> Decimal | None:
    raw = row.raw(*names)
    if isinstance(raw, str):
        raw = _clean(raw)
    try:
        return parse_amount(raw, allow_negative=allow_negative)
    except ParseError as exc:
        raise _Bad(
            make_error(row.number, row.column(*names), raw, exc.code, **exc.params)
        ) from None


def _time(row: _Row, *names: str) -> datetime:
    raw = row.raw(*names)
    if isinstance(raw, str):
        raw = _clean(raw)
    column = row.column(*names)
    try:
        moment = parse_datetime(raw)
    except ParseError as exc:
        raise _Bad(make_error(row.number, column, raw, exc.code, **exc.params)) from None
    if moment is None:
        raise _Bad(make_error(row.number, column, None, "date_missing"))
    return moment


BillItem = ParsedOrderRow | ParsedRefundRow | RowError


def parse_bill(
    layout: BillLayout,
    rows: Iterable[tuple[int, Sequence[CellValue]]],
    skipped: dict[str, int],
    make_key: KeyMaker,
) -> Iterator[BillItem]:
    """Order, refund and error items from the rows after the header; `skipped` counts the rest."""
    handler = _HANDLERS[layout.name]
    ended = False
    for number, cells in rows:
        first = _clean(clean_text(cells[0])) if cells else ""
        if not any(clean_text(c) for c in cells):
            _count(skipped, "blank")
            continue
        # The table ends at a dashed rule, a '#' comment, or WeChat's merchant totals block.
        if ended or first.startswith(("---", "#", "总交易单数", "共")):
            ended = True
            _count(skipped, "summary")
            continue
        row = _Row(number, cells, layout.columns)
        try:
            yield from handler(row, skipped, make_key)
        except _Bad as bad:
            yield bad.error


def _count(skipped: dict[str, int], reason: str) -> None:
    skipped[reason] = skipped.get(reason, 0) + 1


def _order(row: _Row, make_key: KeyMaker, **values: object) -> ParsedOrderRow:
    order = ParsedOrderRow(row=row.number, **values)  # type: ignore[arg-type]
    order.row_key = make_key(order.customer_key, order.placed_at, order.product_name, order.amount)
    return order


def _refund(row: _Row, make_key: KeyMaker, **values: object) -> ParsedRefundRow:
    refund = ParsedRefundRow(row=row.number, **values)  # type: ignore[arg-type]
    ref = (
        refund.original_external_id
        or refund.external_id
        or refund.nickname
        or refund.payer_id
        or ""
    )
    refund.row_key = make_key("refund:" + ref, refund.refunded_at, None, refund.amount)
    return refund


_NOT_DONE = ("退还", "退回", "过期", "失败", "未领取", "已关闭", "待", "等待", "未支付")
_REFUNDED_AMOUNT = re.compile(r"已退款\D*?(\d[\d,]*(?:\.\d+)?)")


def _wechat_personal(row: _Row, skipped: dict[str, int], make_key: KeyMaker) -> Iterator[BillItem]:
    kind = row.text("交易类型") or ""
    direction = row.text("收/支") or ""
    status = row.text("当前状态") or ""
    if direction == "收入":
        if "退款" in kind:
            _count(skipped, "refund_received")  # the account's own purchase refunded
            return
        if any(word in status for word in _NOT_DONE):
            _count(skipped, "not_completed")
            return
        placed_at = _time(row, "交易时间")
        amount = _amount(row, "金额(元)", "金额")
        if amount is None or amount == 0:
            raise _Bad(
                make_error(row.number, row.column("金额(元)", "金额"), None, "amount_missing")
            )
        order = _order(
            row,
            make_key,
            placed_at=placed_at,
            amount=amount,
            external_id=row.text("交易单号"),
            merchant_order_id=row.text("商户单号"),
            nickname=row.text("交易对方"),
            product_name=row.text("商品") or kind or None,
            payment_method=row.text("支付方式"),
            source="wechat",
            note=row.text("备注"),
        )
        yield order
        if "退款" in status:
            # WeChat marks a refunded receipt on the receipt itself: 已全额退款 or 已退款(￥20.00).
            partial = _REFUNDED_AMOUNT.search(status.replace("¥", "").replace("￥", ""))
            refunded = parse_amount(partial.group(1)) if partial else amount
            if refunded:
                yield _refund(
                    row,
                    make_key,
                    refunded_at=placed_at,
                    amount=min(refunded, amount),
                    original_external_id=order.external_id,
                    merchant_order_id=order.merchant_order_id,
                    nickname=order.nickname,
                    source="wechat",
                    note=status,
                )
    elif direction == "支出" and "退款" in kind:
        amount = _amount(row, "金额(元)", "金额")
        if not amount:
            raise _Bad(
                make_error(row.number, row.column("金额(元)", "金额"), None, "amount_missing")
            )
        yield _refund(
            row,
            make_key,
            refunded_at=_time(row, "交易时间"),
            amount=amount,
            external_id=row.text("交易单号"),
            merchant_order_id=row.text("商户单号"),
            nickname=row.text("交易对方"),
            source="wechat",
            note=row.text("备注"),
        )
    elif direction == "支出":
        _count(skipped, "expense")
    else:
        _count(skipped, "neutral")


_SUCCESS = {"SUCCESS", "支付成功", "买家已支付", "已支付"}
_REFUND = {"REFUND", "转入退款", "退款"}
_REVOKED = {"REVOKED", "已撤销", "撤销"}


def _wechat_merchant(row: _Row, skipped: dict[str, int], make_key: KeyMaker) -> Iterator[BillItem]:
    status = (row.text("交易状态") or "").upper()
    if status in _SUCCESS:
        settled = _amount(row, "应结订单金额")
        total = _amount(row, "订单金额")
        amount = settled if settled is not None else total
        if amount is None:
            raise _Bad(make_error(row.number, "应结订单金额", None, "amount_missing"))
        discount = total - amount if total is not None and total > amount else None
        yield _order(
            row,
            make_key,
            placed_at=_time(row, "交易时间"),
            amount=amount,
            discount=discount,
            external_id=row.text("微信订单号"),
            merchant_order_id=row.text("商户订单号"),
            payer_id=row.text("用户标识"),
            product_name=row.text("商品名称"),
            payment_method=row.text("付款银行"),
            source="wechat",
        )
    elif status in _REFUND:
        refund_status = (row.text("退款状态") or "SUCCESS").upper()
        if refund_status not in {"SUCCESS", "退款成功", "已退款"}:
            _count(skipped, "not_completed")
            return
        amount = _amount(row, "退款金额", "申请退款金额")
        if not amount:
            raise _Bad(make_error(row.number, "退款金额", None, "amount_missing"))
        yield _refund(
            row,
            make_key,
            refunded_at=_time(row, "交易时间"),
            amount=amount,
            external_id=row.text("微信退款单号") or row.text("商户退款单号"),
            original_external_id=row.text("微信订单号"),
            merchant_order_id=row.text("商户订单号"),
            payer_id=row.text("用户标识"),
            source="wechat",
        )
    elif status in _REVOKED:
        _count(skipped, "revoked")
    else:
        _count(skipped, "not_completed")


def _alipay_personal(row: _Row, skipped: dict[str, int], make_key: KeyMaker) -> Iterator[BillItem]:
    """Both personal layouts: the web .txt/.csv (交易号 …) and the app's (交易时间, 交易分类 …)."""
    direction = row.text("收/支") or ""
    status = row.text("交易状态") or ""
    what = " ".join(filter(None, (row.text("类型", "交易分类"), row.text("商品名称", "商品说明"))))
    money = row.text("资金状态") or ""
    if direction == "收入" or (not direction and money == "已收入"):
        if "退款" in what:
            _count(skipped, "refund_received")
            return
        refunded = _amount(row, "成功退款(元)") or Decimal(0)
        if status not in {"交易成功", "支付成功", "已收入", "成功"} and not refunded:
            _count(skipped, "not_completed")  # 交易关闭 with nothing paid, 等待付款 …
            return
        placed_at = _time(row, "付款时间", "交易时间", "交易创建时间")
        amount = _amount(row, "金额(元)", "金额")
        if not amount:
            raise _Bad(
                make_error(row.number, row.column("金额(元)", "金额"), None, "amount_missing")
            )
        order = _order(
            row,
            make_key,
            placed_at=placed_at,
            amount=amount,
            external_id=row.text("交易号", "交易订单号"),
            merchant_order_id=row.text("商家订单号"),
            nickname=row.text("交易对方"),
            payer_id=row.text("对方账号"),
            product_name=row.text("商品名称", "商品说明"),
            payment_method=row.text("收/付款方式"),
            source="alipay",
            note=row.text("备注"),
        )
        yield order
        if refunded:
            modified = row.raw("最近修改时间")
            yield _refund(
                row,
                make_key,
                refunded_at=_time(row, "最近修改时间") if modified else placed_at,
                amount=min(refunded, amount),
                original_external_id=order.external_id,
                merchant_order_id=order.merchant_order_id,
                nickname=order.nickname,
                source="alipay",
            )
    elif (direction == "支出" or money == "已支出") and ("退款" in what or "退款" in status):
        amount = _amount(row, "金额(元)", "金额")
        if not amount:
            raise _Bad(
                make_error(row.number, row.column("金额(元)", "金额"), None, "amount_missing")
            )
        yield _refund(
            row,
            make_key,
            refunded_at=_time(row, "最近修改时间", "交易时间", "付款时间", "交易创建时间"),
            amount=amount,
            external_id=row.text("交易号", "交易订单号"),
            merchant_order_id=row.text("商家订单号"),
            nickname=row.text("交易对方"),
            payer_id=row.text("对方账号"),
            source="alipay",
            note=row.text("备注"),
        )
    elif direction == "支出" or money == "已支出":
        _count(skipped, "expense")
    else:
        _count(skipped, "neutral")  # 不计收支: own transfers, 余额宝, refunds of own purchases


def _alipay_merchant(row: _Row, skipped: dict[str, int], make_key: KeyMaker) -> Iterator[BillItem]:
    kind = row.text("业务类型") or ""
    if kind == "交易":
        received = _amount(row, "商家实收(元)")
        total = _amount(row, "订单金额(元)")
        amount = received if received is not None else total
        if amount is None:
            raise _Bad(make_error(row.number, "商家实收(元)", None, "amount_missing"))
        merchant_discount = _amount(row, "商家优惠(元)")
        yield _order(
            row,
            make_key,
            placed_at=_time(row, "完成时间", "创建时间"),
            amount=amount,
            discount=merchant_discount or None,
            external_id=row.text("支付宝交易号"),
            merchant_order_id=row.text("商户订单号"),
            payer_id=row.text("对方账户"),
            product_name=row.text("商品名称"),
            store=row.text("门店名称"),
            staff=row.text("操作员"),
            source="alipay",
            note=row.text("备注"),
        )
    elif kind == "退款":
        received = _amount(row, "商家实收(元)", allow_negative=True)
        total = _amount(row, "订单金额(元)", allow_negative=True)
        amount = abs(received if received is not None else total or Decimal(0))
        if not amount:
            raise _Bad(make_error(row.number, "商家实收(元)", None, "amount_missing"))
        yield _refund(
            row,
            make_key,
            refunded_at=_time(row, "完成时间", "创建时间"),
            amount=amount,
            external_id=row.text("退款批次号/请求号"),
            original_external_id=row.text("支付宝交易号"),
            merchant_order_id=row.text("商户订单号"),
            payer_id=row.text("对方账户"),
            source="alipay",
            note=row.text("备注"),
        )
    else:
        _count(skipped, "other")


_HANDLERS: dict[str, Callable[[_Row, dict[str, int], KeyMaker], Iterator[BillItem]]] = {
    "wechat_personal": _wechat_personal,
    "wechat_merchant": _wechat_merchant,
    "alipay_personal": _alipay_personal,
    "alipay_mobile": _alipay_personal,
    "alipay_merchant": _alipay_merchant,
}
