"""Every screen's ? help link opens its own part of the guide, in both languages (issue 16 item 5).

The link is the guide's URL with the screen's `help_anchor` or, without one, its `active_nav`
(base.html). The names are read from the views' source here, not from the code under test, so a
new screen without a guide section fails this test.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.test import Client

import huitouke

pytestmark = pytest.mark.django_db

SOURCE = Path(huitouke.__file__).parent
NAMES = re.compile(r"""["'](?:active_nav|help_anchor)["']\s*:\s*["']([a-z_-]+)["']""")


def _anchors() -> set[str]:
    found: set[str] = set()
    for path in SOURCE.rglob("*.py"):
        found.update(NAMES.findall(path.read_text(encoding="utf-8")))
    return found


def test_the_views_name_their_help_sections() -> None:
    anchors = _anchors()
    # The screens of the navigation are all there (a broken pattern would find nothing).
    assert {"dashboard", "customers", "segments", "automation", "staff", "audit"} <= anchors


@pytest.mark.parametrize("lang", ["zh-hans", "en"])
def test_every_help_link_has_its_section_in_the_guide(client: Client, owner, lang: str) -> None:
    client.force_login(owner)
    client.cookies["django_language"] = lang
    html = client.get("/guide/").content.decode()
    ids = set(re.findall(r'id="([a-z_-]+)"', html))
    missing = sorted(_anchors() - ids)
    assert not missing, f"no guide section for: {missing}"
    # and the guide's own table of contents leads to each of them
    assert not sorted(a for a in _anchors() if f'href="#{a}"' not in html)
