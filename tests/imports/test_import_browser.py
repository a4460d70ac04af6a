"""In the browser: upload a file, fix a column, see the preview and the errors, import, find her."""

from __future__ import annotations

import csv
import io

import pytest
from tests.e2e.conftest import log_in
from tests.helpers import PASSWORD

from huitouke.customers.models import Customer

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]


def test_upload_fix_mapping_preview_errors_import_and_find_her(
    page,
    owner,
    store1,
    huey_immediate,
    tmp_path,
):
    buffer = io.StringIO()
    csv.writer(buffer).writerows(
        [
            ["顾客姓名", "手机", "日期", "商品", "付款数"],
            ["林晓雨", "13800138000", "2024-03-05 14:03", "玫瑰精华水", "268"],
            ["林晓雨", "13800138000", "2024-03-20 10:00", "面膜", "88"],
            ["陈静", "13800000002", "2024-03-21", "口红", "一百"],
        ]
    )
    path = tmp_path / "三月销售.csv"
    path.write_bytes(buffer.getvalue().encode("utf-8-sig"))

    log_in(page, "owner", PASSWORD)
    page.goto(page.base_url + "/imports/")
    page.select_option("#id_kind", "orders")
    page.set_input_files("#id_file", str(path))
    page.click("[data-testid=upload-form] button[type=submit]")

    # The amount column has a name nobody uses: map it by hand.
    page.wait_for_selector("[data-testid=mapping]")
    assert page.locator("[data-testid=commit]").count() == 0
    page.select_option("select[data-column='付款数']", "amount")
    page.click("[data-testid=mapping] button[type=submit]")

    page.wait_for_selector("[data-testid=preview]")
    preview = page.inner_text("[data-testid=preview]")
    assert "林晓雨" in preview and "玫瑰精华水 × 1" in preview
    errors = page.inner_text("[data-testid=errors]")
    assert "一百" in errors and "不是有效金额" in errors

    page.check("input[name=mode][value=good_rows]")
    page.click("[data-testid=commit] button[type=submit]")
    page.wait_for_selector("[data-testid=outcome]")
    assert page.locator("[data-testid=rows-to-fix]").count() == 1

    lin = Customer.objects.get(name="林晓雨")
    page.goto(page.base_url + f"/customers/{lin.pk}/")
    assert page.inner_text("[data-testid=orders-count]") == "2"
    assert not Customer.objects.filter(name="陈静").exists()
