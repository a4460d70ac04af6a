"""Which column holds which field: Chinese and English header synonyms, user corrections, checks."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from huitouke.imports.rows import Kind, RowError, make_error

# Field -> header synonyms, compared after normalise_header(). Exact matches win over headers
# that merely contain a synonym ("会员手机号码" contains "手机"), and longer synonyms win over
# shorter ones, so "商品编码" is a SKU while "商品" alone is the product.
_SHARED: dict[str, tuple[str, ...]] = {
    "phone": ("手机", "手机号", "手机号码", "电话", "电话号码", "联系电话", "联系方式", "手机/电话",
              "phone", "mobile", "tel", "telephone", "cellphone", "phone number"),
    "wechat": ("微信", "微信号", "微信id", "wechat", "wechat id", "weixin", "wx"),
    "nickname": ("昵称", "微信昵称", "nickname", "nick"),
    "store": ("门店", "门店名称", "店铺", "店名", "所属门店", "store", "shop", "branch"),
    "staff": ("导购", "销售", "销售员", "店员", "营业员", "美容师", "顾问", "服务人员", "经手人",
              "负责人", "所属导购", "归属导购", "staff", "sales", "salesperson", "seller", "clerk"),
    "source": ("来源", "渠道", "客户来源", "顾客来源", "来源渠道", "source", "channel"),
    "note": ("备注", "说明", "注释", "note", "notes", "remark", "remarks", "memo", "comment"),
}  # fmt: skip

ORDER_SYNONYMS: dict[str, tuple[str, ...]] = {
    "external_id": ("订单号", "单号", "订单编号", "订单id", "流水号", "小票号", "单据号",
                    "order id", "order no", "order number", "external id", "externalid"),
    "customer_external_id": ("会员编号", "客户编号", "顾客编号", "会员号", "会员卡号", "卡号",
                             "会员id", "客户id", "customer id", "member id", "member no",
                             "customer number", "customer external id"),
    "customer_name": ("顾客姓名", "客户", "客户姓名", "客户名称", "姓名", "会员", "会员姓名", "顾客",
                      "买家", "name", "customer", "customer name", "member", "member name"),
    "placed_at": ("下单日期", "日期", "下单时间", "时间", "购买日期", "购买时间", "消费日期",
                  "消费时间", "交易时间", "交易日期", "成交日期", "成交时间", "销售日期", "付款时间",
                  "date", "time", "datetime", "order date", "order time", "purchase date", "placed at"),
    "product_name": ("产品名称", "商品", "商品名称", "产品", "品名", "项目", "服务项目", "货品",
                     "product", "product name", "item", "item name", "goods"),
    "sku": ("商品编码", "产品编码", "货号", "款号", "条码", "条形码", "sku", "barcode", "item code"),
    "category": ("品类", "类目", "分类", "类别", "商品分类", "产品分类", "商品类别", "category",
                 "product category", "type"),
    "quantity": ("数量", "件数", "购买数量", "销售数量", "qty", "quantity", "count", "pcs"),
    "unit_cost": ("拿货价", "成本", "进价", "成本价", "进货价", "采购价", "cost", "unit cost",
                  "cost price"),
    "unit_price": ("售价", "单价", "零售价", "销售价", "标价", "price", "unit price", "sale price"),
    "amount": ("实付", "金额", "实付金额", "实收", "实收金额", "消费金额", "支付金额", "付款金额",
               "成交金额", "订单金额", "总价", "合计", "小计", "amount", "total", "paid",
               "amount paid", "net paid"),
    "discount": ("折扣", "优惠", "优惠金额", "折扣金额", "减免", "discount"),
    "payment_method": ("支付方式", "付款方式", "收款方式", "payment", "payment method"),
    **_SHARED,
}  # fmt: skip

CUSTOMER_SYNONYMS: dict[str, tuple[str, ...]] = {
    "external_id": ("会员编号", "客户编号", "顾客编号", "会员号", "会员卡号", "卡号", "会员id",
                    "客户id", "external id", "externalid", "customer id", "member id", "member no",
                    "customer number", "id"),
    "name": ("顾客姓名", "客户", "客户姓名", "客户名称", "姓名", "会员", "会员姓名", "顾客", "名字",
             "name", "customer", "customer name", "full name", "member", "member name"),
    "gender": ("性别", "gender", "sex"),
    "birthday": ("生日", "出生日期", "生日日期", "出生年月日", "birthday", "birth date",
                 "date of birth", "dob"),
    "city": ("城市", "所在城市", "city"),
    "address": ("地址", "住址", "联系地址", "收货地址", "详细地址", "address"),
    "email": ("邮箱", "电子邮箱", "邮件", "email", "e-mail", "mail"),
    "tags": ("标签", "客户标签", "顾客标签", "tags", "tag", "labels"),
    "joined_at": ("注册时间", "注册日期", "入会时间", "入会日期", "建档日期", "建档时间", "开卡日期",
                  "创建时间", "joined", "joined at", "created", "created at", "signup date"),
    "referrer": ("推荐人", "介绍人", "referrer", "referred by"),
    # Her marketing answer, for every channel; without this column imported customers' consent
    # stays unknown (PIPL art. 14).
    "consent": ("同意营销", "营销同意", "接受营销", "接收营销", "营销授权", "同意接收营销信息",
                "consent", "marketing consent", "accepts marketing", "opt in", "opt-in"),
    **_SHARED,
}  # fmt: skip

CUSTOMER_KEY_FIELDS = ("customer_external_id", "phone", "wechat", "customer_name", "nickname")
IGNORE_WORDS = {"", "-", "ignore", "skip", "忽略", "不导入"}


def synonyms_for(kind: Kind) -> dict[str, tuple[str, ...]]:
    """The field -> synonyms table for `kind`."""
    return ORDER_SYNONYMS if kind == "orders" else CUSTOMER_SYNONYMS


_BRACKETED = re.compile(r"[(\[{<【《][^)\]}>】》]*[)\]}>】》]")
_NOISE = re.compile(r"[\s_\-*:#.·/]+")


def spaced_header(text: object) -> str:
    """Header text folded for matching, words kept apart: "Order_Date (CN)" -> "order date"."""
    raw = unicodedata.normalize("NFKC", str(text or "")).strip().casefold()
    stripped = _BRACKETED.sub("", raw)
    if not stripped.strip():
        stripped = re.sub(r"[()\[\]{}<>【】《》]", "", raw)  # "(备注)" alone keeps its word
    return _NOISE.sub(" ", stripped).strip()


def normalise_header(text: object) -> str:
    """Header text folded for comparing: NFKC, lower case, no bracketed notes, spaces or marks."""
    return spaced_header(text).replace(" ", "")


def _index(kind: Kind) -> tuple[dict[str, str], list[tuple[str, str]]]:
    cached = _INDEX_CACHE.get(kind)
    if cached is None:
        exact: dict[str, str] = {}
        contained: list[tuple[str, str]] = []
        own = synonyms_for(kind)
        other = CUSTOMER_SYNONYMS if kind == "orders" else ORDER_SYNONYMS
        # The other kind's headers are recognised as "not imported here" (field ""), so an
        # orders file's 生日 column stays unmapped instead of matching 会员 as a name.
        tables = [(own, False), ({k: v for k, v in other.items() if k not in own}, True)]
        for table, foreign in tables:
            for name, words in table.items():
                target = "" if foreign else name
                # The field's own name too ("unit_price"), as exports write it.
                exact.setdefault(normalise_header(name), target)
                for word in words:
                    exact.setdefault(normalise_header(word), target)
                    contained.append((spaced_header(word), target))
        cached = _INDEX_CACHE[kind] = (exact, contained)
    return cached


_INDEX_CACHE: dict[str, tuple[dict[str, str], list[tuple[str, str]]]] = {}


def match_header(header: object, kind: Kind) -> tuple[str, int] | None:
    """(field, strength) for a header: 1000 when exact, less when contained; field "" = other kind's."""
    return _match(spaced_header(header), kind)


@lru_cache(maxsize=4096)
def _match(spaced: str, kind: Kind) -> tuple[str, int] | None:
    key = spaced.replace(" ", "")
    if not key:
        return None
    exact, contained = _index(kind)
    if key in exact:
        return exact[key], 1000
    best: tuple[str, int] | None = None
    for word, name in contained:
        if len(word) < 2:
            continue
        if word.isascii():
            # English words only as whole words: "date" must not match "update".
            if word not in spaced or not re.search(
                rf"(?<![a-z0-9]){re.escape(word)}(?![a-z0-9])", spaced
            ):
                continue
        elif word.replace(" ", "") not in key:
            continue
        # Compounds put the head last: "客户手机" and "Customer Phone" are phones, so a
        # synonym ending the header beats a longer one inside it.
        at_end = spaced.endswith(word) if word.isascii() else key.endswith(word.replace(" ", ""))
        strength = (100 if at_end else 0) + len(word)
        if best is None or strength > best[1]:
            best = (name, strength)
    return best


def resolve_field(name: str, kind: Kind) -> str | None:
    """A field name, or a synonym of one, as the canonical field name; None when unknown."""
    exact, _ = _index(kind)
    return exact.get(normalise_header(name))


def parse_mapping_spec(spec: str) -> dict[str, str]:
    """'列A=name,列B=phone' (CLI --map) as {column: field}; raises ValueError naming a bad part."""
    result: dict[str, str] = {}
    for part in re.split(r"[,，;；\n]", spec):
        if not part.strip():
            continue
        column, sep, target = part.rpartition("=")
        if not sep or not column.strip():
            raise ValueError(part.strip())
        result[column.strip()] = target.strip()
    return result


@dataclass
class ColumnMapping:
    """Columns of a file and the field each one feeds (by column position)."""

    columns: list[str]
    fields: dict[int, str] = field(default_factory=dict)  # column index -> field
    unmapped: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)  # required fields (or groups) with no column

    def by_column(self) -> dict[str, str]:
        """{column header: field} for the mapped columns."""
        return {self.columns[i]: name for i, name in sorted(self.fields.items())}

    def column_of(self, name: str) -> int | None:
        """The index of the column mapped to field `name`, if any."""
        for index, mapped in self.fields.items():
            if mapped == name:
                return index
        return None


def unique_columns(headers: Sequence[object]) -> list[str]:
    """Header texts made unique and non-empty: a second "备注" becomes "备注#2", a blank one "C"."""
    seen: dict[str, int] = {}
    result = []
    for position, header in enumerate(headers):
        text = str(header).strip() if header is not None else ""
        if not text:
            text = _column_letter(position)
        count = seen.get(text, 0) + 1
        seen[text] = count
        result.append(text if count == 1 else f"{text}#{count}")
    return result


def _column_letter(index: int) -> str:
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def build_mapping(
    headers: Sequence[object],
    kind: Kind,
    overrides: Mapping[str, str] | str | None = None,
) -> tuple[ColumnMapping, list[RowError]]:
    """Map header cells to fields (synonyms, then the user's overrides) and check required fields."""
    columns = unique_columns(headers)
    errors: list[RowError] = []
    forced: dict[int, str | None] = {}
    if isinstance(overrides, str):
        try:
            overrides = parse_mapping_spec(overrides)
        except ValueError as exc:
            errors.append(make_error(None, None, str(exc), "mapping_invalid"))
            overrides = {}
    for column, target in (overrides or {}).items():
        index = _find_column(column, columns)
        if index is None:
            errors.append(make_error(None, None, column, "mapping_unknown_column"))
            continue
        if normalise_header(target) in IGNORE_WORDS or target.strip() in IGNORE_WORDS:
            forced[index] = None
            continue
        name = resolve_field(target, kind)
        if name is None:
            errors.append(make_error(None, columns[index], target, "mapping_unknown_field"))
            continue
        forced[index] = name

    mapping = ColumnMapping(columns)
    taken = {name for name in forced.values() if name}
    # Best column per field: strongest match first, leftmost on ties.
    candidates: list[tuple[int, int, str]] = []
    for index, header in enumerate(headers):
        if index in forced or header is None or not str(header).strip():
            continue
        found = match_header(header, kind)
        if found and found[0]:
            candidates.append((-found[1], index, found[0]))
    for _strength, index, name in sorted(candidates):
        if name not in taken:
            mapping.fields[index] = name
            taken.add(name)
    for index, name in forced.items():
        if name:
            mapping.fields[index] = name
    mapping.fields = dict(sorted(mapping.fields.items()))
    mapping.unmapped = [
        columns[i]
        for i, header in enumerate(headers)
        if i not in mapping.fields and forced.get(i, "") is not None and header not in (None, "")
    ]
    mapping.missing = missing_fields(set(mapping.fields.values()), kind)
    if mapping.missing:
        errors.append(make_error(None, None, None, "missing_columns", fields=list(mapping.missing)))
    return mapping, errors


def _find_column(name: str, columns: list[str]) -> int | None:
    if name in columns:
        return columns.index(name)
    key = normalise_header(name)
    for index, column in enumerate(columns):
        if normalise_header(column) == key:
            return index
    if re.fullmatch(r"[A-Za-z]{1,2}", name.strip()):  # a column letter, as Excel shows it
        for index in range(len(columns)):
            if _column_letter(index) == name.strip().upper():
                return index
    return None


def missing_fields(present: set[str], kind: Kind) -> list[str]:
    """Required fields (or groups of alternatives) that no column provides."""
    missing = []
    if kind == "orders":
        if not present & set(CUSTOMER_KEY_FIELDS):
            missing.append("customer_key")
        if "placed_at" not in present:
            missing.append("placed_at")
        if not present & {"amount", "unit_price"}:
            missing.append("amount_or_price")
    elif not present & {"name", "phone"}:
        missing.append("name_or_phone")
    return missing


def header_score(cells: Sequence[object], kind: Kind, extra: Sequence[str] = ()) -> int:
    """How header-like a row is: the number of distinct fields its cells name."""
    names = set()
    extra_keys = {normalise_header(e) for e in extra}
    for cell in cells:
        if cell is None or isinstance(cell, int | float) or not str(cell).strip():
            continue
        if extra_keys and normalise_header(cell) in extra_keys:
            names.add("override:" + str(cell))
            continue
        found = match_header(cell, kind)
        if found:
            names.add(found[0] or "other:" + normalise_header(cell))
    return len(names)


def find_header(
    rows: Sequence[Sequence[object]], kind: Kind, extra: Sequence[str] = ()
) -> tuple[int, int, list[object]] | None:
    """(index of the header row, rows it spans (1 or 2), header cells) among `rows`, or None.

    A title block above the header scores low; a two-row header (a group label merged across
    sub-headers, or labels merged down over two rows) is read as one row of labels.
    """
    best: tuple[tuple[int, int], int, int, list[object]] | None = None
    for index, cells in enumerate(rows):
        single = (header_score(cells, kind, extra), _filled(cells))
        if single[0] and (best is None or single > best[0]):
            best = (single, index, 1, list(cells))
        if index + 1 < len(rows):
            below = rows[index + 1]
            combined = [b if b not in (None, "") else a for a, b in zip_longest_cells(cells, below)]
            pair = (header_score(combined, kind, extra), _filled(combined))
            lower = header_score(below, kind, extra)
            if pair[0] > max(single[0], lower) and (best is None or pair > best[0]):
                best = (pair, index, 2, combined)
    if best is None:
        return None
    return best[1], best[2], best[3]


def _filled(cells: Sequence[object]) -> int:
    return sum(1 for c in cells if c is not None and str(c).strip())


def zip_longest_cells(a: Sequence[object], b: Sequence[object]) -> list[tuple[object, object]]:
    """Pairs of cells from two rows, the shorter padded with None."""
    width = max(len(a), len(b))
    return [(a[i] if i < len(a) else None, b[i] if i < len(b) else None) for i in range(width)]
