"""Segment validation names each field by its label in the caller's language (issue 15 item 2).

The API keeps the machine-readable place of the problem in errors[].field
("definition.conditions[0].value"); the message itself, there and on the segment form, says
“门店”/“Home store”, never “store”, and operators in words, never “between” or “ne”.
"""

from __future__ import annotations

import json
import re

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db

CODES = re.compile(
    r"“(store|orders_count|net_spend|gender|ne|in|not_in|gte|is_empty|match|"
    r"conditions|within_days)”|\b(orders_count|net_spend|not_in|is_empty|is_not_empty)\b"
)

# (definition, path, what the message must say in English, in Chinese)
CASES = [
    (
        {"version": 1, "conditions": [{"field": "store", "op": "in", "value": ["万达店"]}]},
        "definition.conditions[0].value",
        "“Home store” needs ids",
        "“所属门店”",
    ),
    (
        {"version": 1, "conditions": [{"field": "orders_count", "op": "gt", "value": "lots"}]},
        "definition.conditions[0].value",
        "“Orders” needs a number",
        "“订单”",
    ),
    (
        {"version": 1, "conditions": [{"field": "gender", "op": "ne", "value": "f"}]},
        "definition.conditions[0].op",
        "“does not equal” does not apply to “Gender” (use one of: is, is not, is empty",
        "“性别”不能用“不等于”",
    ),
    (
        {"version": 1, "conditions": [{"field": "net_spend", "op": "between", "value": [9, 1]}]},
        "definition.conditions[0].value",
        "For “Net spend”, “between” needs the first value no greater",
        "“累计消费”选“介于”时",
    ),
    (
        {"version": 1, "conditions": [{"field": "lifecycle", "op": "in", "value": ["sleepy"]}]},
        "definition.conditions[0].value",
        "(choose from: Potential, New, Active",
        "（可选：潜客、新客、活跃",
    ),
    (
        {"version": 1, "match": "some", "conditions": []},
        "definition.match",
        "Choose whether all or any of the conditions must hold",
        "请选择满足全部条件还是任一条件",
    ),
]


@pytest.mark.parametrize(("definition", "path", "english", "chinese"), CASES)
def test_the_api_names_the_field_in_words_and_keeps_its_path(
    api_as, owner, definition, path, english, chinese
) -> None:
    for language, words in (("en", english), ("zh-hans", chinese)):
        answer = api_as(owner, language).post("/segments/count", {"definition": definition})
        assert answer.status_code == 422, answer.content
        problem = answer.json()
        fields = {e["field"]: e["message"] for e in problem["errors"]}
        assert path in fields, problem
        message = fields[path]
        assert words in message, (language, message)
        assert not CODES.search(message), (language, message)
        if language != "en":
            # No English left in it (what she typed, quoted, may be anything).
            assert not re.search(r"\b(needs|apply|choose|must|use one of)\b", message), message
        assert "conditions[0]" not in message


def test_saving_through_the_api_refuses_with_the_same_words(api_as, owner) -> None:
    definition = CASES[0][0]
    answer = api_as(owner, "zh-hans").post("/segments", {"name": "万达", "definition": definition})
    assert answer.status_code == 422
    errors = answer.json()["errors"]
    assert errors[0]["field"] == "definition.conditions[0].value"
    assert errors[0]["message"].startswith("“所属门店”")


@pytest.mark.parametrize(("language", "words"), [("en", "“Home store”"), ("zh-hans", "“所属门店”")])
def test_the_segment_form_says_the_field_by_its_label(client, owner, language, words) -> None:
    client.force_login(owner)
    definition = json.dumps(CASES[0][0])
    saved = client.post(
        reverse("segments:create"),
        {"name": "万达", "definition": definition},
        HTTP_ACCEPT_LANGUAGE=language,
    ).content.decode()
    counted = client.post(
        reverse("segments:count"), {"definition": definition}, HTTP_ACCEPT_LANGUAGE=language
    ).content.decode()
    for html in (saved, counted):
        assert words in html
        assert "“store”" not in html and "conditions[0]" not in html
