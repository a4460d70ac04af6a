"""Headers on every page: a CSP that allows scripts only from our static files, a Permissions-Policy;
no template carries an inline script or handler; production's hosts exclude the test client's."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.urls import reverse

SRC = Path(__file__).resolve().parents[2] / "src" / "huitouke"
PAGES = ["login", "dashboard", "customers:list", "sales:quick_order", "analytics:overview"]


@pytest.mark.django_db
def test_every_page_sends_the_csp_and_permissions_policy(client, owner):
    responses = [client.get(reverse("login"))]
    client.force_login(owner)
    responses += [client.get(reverse(name)) for name in PAGES[1:]]
    responses.append(client.get("/no-such-page/"))
    for response in responses:
        csp = response["Content-Security-Policy"]
        assert "script-src 'self';" in csp and "unsafe-inline" not in csp.split("style-src")[0]
        assert "object-src 'none'" in csp and "frame-ancestors 'none'" in csp
        assert "camera=()" in response["Permissions-Policy"]


INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/(ld\+)?json)[^>]*>", re.I)
INLINE_HANDLER = re.compile(r"""\s(on[a-z]+|hx-on[:\w-]*)\s*=\s*["']""", re.I)


def test_no_template_has_an_inline_script_or_handler():
    found = []
    for template in SRC.rglob("templates/**/*.html"):
        text = template.read_text(encoding="utf-8")
        for pattern in (INLINE_SCRIPT, INLINE_HANDLER):
            found += [
                f"{template.relative_to(SRC)}: {m.group(0).strip()}" for m in pattern.finditer(text)
            ]
    assert found == []


def test_production_hosts_default_excludes_testserver(tmp_path):
    env = {
        **os.environ,
        "HUITOUKE_ENV": "production",
        "SECRET_KEY": "x" * 50,
        "HUITOUKE_DATA_DIR": str(tmp_path),
        "DJANGO_SETTINGS_MODULE": "huitouke.settings",
    }
    env.pop("ALLOWED_HOSTS", None)
    code = "from django.conf import settings; print(','.join(settings.ALLOWED_HOSTS))"
    out = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
    ).stdout.strip()
    assert out == "127.0.0.1,localhost"
