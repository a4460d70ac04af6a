"""LOG_FORMAT=json: one JSON object a line, with the request id the response also carries."""

from __future__ import annotations

import io
import json
import logging
import logging.config

from django.conf import settings
from django.http import HttpResponse
from django.test import RequestFactory

from huitouke.ops.logs import RequestIdMiddleware


def _view(request):
    logging.getLogger("huitouke.tests").warning("a sale was recorded")
    return HttpResponse("ok")


def test_json_lines_carry_the_request_id():
    config = json.loads(json.dumps(settings.LOGGING))
    config["handlers"]["console"]["formatter"] = "json"
    stream = io.StringIO()
    logging.config.dictConfig(config)
    logging.getLogger().handlers[0].setStream(stream)  # type: ignore[attr-defined]
    middleware = RequestIdMiddleware(_view)
    try:
        response = middleware(RequestFactory().get("/", HTTP_X_REQUEST_ID="abcdef123456"))
        assert response["X-Request-ID"] == "abcdef123456"
        line = json.loads(stream.getvalue().strip().splitlines()[-1])
        assert line["message"] == "a sale was recorded" and line["logger"] == "huitouke.tests"
        assert line["request_id"] == "abcdef123456" and line["level"] == "WARNING"
        # An id that could forge log lines is replaced by a fresh one.
        forged = middleware(RequestFactory().get("/", HTTP_X_REQUEST_ID='x"\n{"level": "x"}'))
        rid = forged["X-Request-ID"]
        assert len(rid) == 32 and rid.isalnum()
        assert json.loads(stream.getvalue().strip().splitlines()[-1])["request_id"] == rid
        # Outside a request (the worker) the id is "-".
        logging.getLogger("huitouke.tests").warning("nightly refresh")
        assert json.loads(stream.getvalue().strip().splitlines()[-1])["request_id"] == "-"
    finally:
        logging.config.dictConfig(settings.LOGGING)


def test_task_results_are_not_stored():
    from huey.contrib.djhuey import HUEY

    assert HUEY.results is False
