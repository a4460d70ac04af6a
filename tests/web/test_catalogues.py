"""Every translation catalogue is complete and compiled, and no msgid means two things.

`msgfmt --statistics` must report only translated messages (0 fuzzy, 0 untranslated) for every
catalogue, the committed .mo must hold what its .po says, and a msgid without a context must
have one translation across all catalogues: Django merges them into one namespace, so "Name"
translated 姓名 in one app and 名称 in another shows one of the two on every screen.
"""

from __future__ import annotations

import gettext
import re
import shutil
import subprocess
from collections import defaultdict
from pathlib import Path

import pytest

SRC = Path(__file__).resolve().parents[2] / "src" / "huitouke"
CATALOGUES = sorted(SRC.glob("**/locale/*/LC_MESSAGES/django.po"))

needs_msgfmt = pytest.mark.skipif(shutil.which("msgfmt") is None, reason="gettext's msgfmt missing")


def test_there_are_catalogues() -> None:
    assert len(CATALOGUES) >= 10


@needs_msgfmt
@pytest.mark.parametrize("po", CATALOGUES, ids=lambda p: str(p.relative_to(SRC)))
def test_catalogue_has_no_fuzzy_or_untranslated_message(po: Path, tmp_path: Path) -> None:
    mo = tmp_path / "django.mo"
    done = subprocess.run(
        ["msgfmt", "--check-format", "--statistics", "-o", str(mo), str(po)],
        capture_output=True,
        text=True,
        check=True,
    )
    stats = done.stderr.strip()
    assert re.fullmatch(r"\d+ translated messages?\.", stats), f"{po}: {stats}"
    compiled = po.with_suffix(".mo")
    assert compiled.exists(), f"{compiled} is not committed"
    fresh = gettext.GNUTranslations(mo.open("rb"))._catalog  # type: ignore[attr-defined]
    committed = gettext.GNUTranslations(compiled.open("rb"))._catalog  # type: ignore[attr-defined]
    assert committed == fresh, f"{compiled} is older than {po.name}: run compilemessages"


def test_a_msgid_without_context_has_one_translation_everywhere() -> None:
    seen: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for po in CATALOGUES:
        mo = po.with_suffix(".mo")
        catalog = gettext.GNUTranslations(mo.open("rb"))._catalog  # type: ignore[attr-defined]
        for key, text in catalog.items():
            if isinstance(key, tuple):
                key, form = key
                if form:
                    continue
            if not key or "\x04" in key:
                continue  # the header, and messages with a context
            seen[key][text].append(str(po.relative_to(SRC).parts[0]))
    clashes = {k: dict(v) for k, v in seen.items() if len(v) > 1}
    assert clashes == {}, f"{len(clashes)} msgids translated differently: {clashes}"
