"""What the issue-15 browser tests share: the women segment, and one page shot in both languages
at both sizes (var/screenshots/issue15-<name>-<lang>-<phone|desktop>.png)."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

SHOTS = Path(__file__).resolve().parents[2] / "var" / "screenshots"
WOMEN = {
    "version": 1,
    "match": "all",
    "conditions": [{"field": "gender", "op": "in", "value": ["f"]}],
}
SIZES = {"phone": (390, 844), "desktop": (1366, 900)}


def shoot_each_size(page: Any, name: str, show: Callable[[Any], None]) -> None:
    """For zh-hans and en, at 390 and 1366 px: `show(page)` brings the page back (it runs after
    the language and the size changed), then the page must not scroll sideways, and is shot.
    The browser is left in zh-hans (at the desktop size)."""
    SHOTS.mkdir(parents=True, exist_ok=True)
    for lang in ("zh-hans", "en"):
        page.context.add_cookies([{"name": "django_language", "value": lang, "url": page.base_url}])
        for vp, (width, height) in SIZES.items():
            page.set_viewport_size({"width": width, "height": height})
            show(page)
            overflow = page.evaluate("document.documentElement.scrollWidth > window.innerWidth")
            assert not overflow, f"{name} scrolls sideways at {width}px"
            page.screenshot(path=str(SHOTS / f"issue15-{name}-{lang}-{vp}.png"), full_page=True)
    page.context.add_cookies(
        [{"name": "django_language", "value": "zh-hans", "url": page.base_url}]
    )
