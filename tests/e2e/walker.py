"""Walk every page a signed-in person reaches from the navigation and check what she sees.

Used by tests/e2e/test_walk.py (issue 15, "Must show"). For one persona, language and width it
starts at the dashboard and the navigation, follows same-origin GET links breadth-first (a bounded
depth, one page per URL pattern: ids replaced, query values ignored, so it visits one customer,
one order, one segment, one rule …) and on every page checks:

- the response status (no 4xx/5xx from a link, downloads included);
- the page's language (`<html lang>`);
- visible text with an identifier in it (snake_case words, `{{`, `{%`, `%(`, `{placeholder}`);
- on a Chinese page, English words outside a small explicit allow-list (an untranslated msgid);
- at phone width, a horizontal scrollbar (documentElement.scrollWidth > clientWidth);
- axe-core's serious and critical violations;
- the Content-Security-Policy (issue 14, `script-src 'self'`): any `securitypolicyviolation`
  event on the page, and any console message about the policy. The page runs under its real
  policy: axe-core is loaded as a same-origin script (answered by the browser context at
  AXE_URL), never injected inline, so the walk needs no `bypass_csp`.

Besides the links, `expect()` visits pages that must answer a given status (the 403, 404 and
500 pages, rendered in the app's layout) and checks them the same way.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

# Links never followed: signing out, and links that change or remove something (a GET should not,
# but the walk does not find out by trying), the member centre (its own session), Django's admin,
# the API, the language switch, and the operations endpoints.
SKIP_PATH = re.compile(
    r"^/(logout|m|admin|api|i18n|healthz|readyz|metrics)(/|$)"
    r"|/(delete|erase|void|cancel|toggle|refresh|retry|commit|complete|skip|duplicate|enable"
    r"|adopt|replay|sign-out|opt-out|opt-in|reveal-phone|test|sync)/"
)
# The member centre's walk: only its own pages (under /m/), never signing out or sending codes.
MEMBER_SKIP_PATH = re.compile(r"^/(?!m/)|/(sign-out|code)/")
# Links that answer a file, not a page: fetched (status checked), not rendered.
DOWNLOAD_PATH = re.compile(r"/export/|/rows-to-fix/|\.(csv|xlsx|svg|png|json|pdf)$|/errors\.")

# A code or a template/format placeholder that reached the screen.
IDENTIFIER = re.compile(
    r"\b[a-z][a-z0-9]*(?:_[a-z0-9]+)+\b"  # snake_case: not_in, customers_created, birthday_sms
    r"|\{\{|\}\}|\{%|%\}"  # Django template syntax
    r"|%\(\w+\)[sdf]?|%[sd]\b"  # printf placeholders
    r"|\{\w*\}"  # str.format placeholders: {name}, {}
)
# Removed before looking for identifiers and English words: e-mail addresses and URLs are data.
NOT_TEXT = re.compile(r"[\w.+-]+@[\w-]+(\.[\w-]+)+|https?://\S+|/[\w./?=&%-]+")
LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9'’]*")

# English a Chinese page may show: the product's own name, the other language's name on the
# language switch, and abbreviations a Chinese shop uses as they are. Kept small on purpose.
ZH_ALLOWED = frozenset(
    {
        "Huitouke",  # the brand beside 回头客
        "English",  # the language switch
        "VIP",
        "RFM",
        "ROI",
        "CLV",
        "SMS",
        "API",
        "ID",
        "IP",
        "QR",
        "Excel",
        "CSV",
        "Webhook",
        "WeCom",
        "SOP",
        "SKU",
        "ml",
        "kg",
        "xlsx",
        "JSON",
        "PNG",
        "SVG",
        # Field names as the SMS, e-mail and WeCom providers' consoles show them (to copy from).
        "AccessKey",
        "SecretId",
        "SecretKey",
        "SmsSdkAppId",
        "Secret",
        "Token",
        "EncodingAESKey",
        "SMTP",
        "SSL",
        "STARTTLS",
        "Standard",
        "Webhooks",
    }
)
# One capital letter is a grade or a score's name (价值等级 A/B/C, R/F/M, R3), not a word; six or
# more capitals and digits together are a code (a coupon code), not a word either.
GRADE = re.compile(r"^[A-Z][0-9]?$|^(?=.*[0-9])[A-Z0-9]{6,}$")

# Visible text: text nodes of rendered elements, plus the attributes people read or hear
# (placeholder, title, aria-label, alt, button values). An element marked translate="no" (the
# HTML way to say "not words of this language": the variables a message template may use, a
# provider's own field names) is left out with what is inside it, and so is what a form field
# holds (a textarea's text, an input's value): what she typed is hers, not the page's words.
PAGE_TEXT_JS = """() => {
  const parts = [document.title];
  const skip = el => el.closest('[translate=no],script,style,noscript,template,textarea');
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let node = walker.nextNode(); node; node = walker.nextNode()) {
    const el = node.parentElement;
    if (!el || !node.nodeValue.trim() || skip(el)) continue;
    if (!el.checkVisibility({visibilityProperty: true})) continue;
    parts.push(node.nodeValue);
  }
  for (const el of document.body.querySelectorAll('[placeholder],[title],[aria-label],img[alt],input[type=submit],input[type=button]')) {
    if (skip(el) || !el.checkVisibility({visibilityProperty: true})) continue;
    for (const a of ['placeholder', 'title', 'aria-label', 'alt']) {
      const v = el.getAttribute(a);
      if (v) parts.push(v);
    }
    if (el.matches('input[type=submit],input[type=button]') && el.value) parts.push(el.value);
  }
  for (const el of document.body.querySelectorAll('select')) {
    if (skip(el) || !el.checkVisibility()) continue;
    for (const o of el.options) parts.push(o.text);
  }
  return parts.join('\\n');
}"""

LINKS_JS = """() => Array.from(document.querySelectorAll('a[href]'))
  .filter(a => !a.hasAttribute('download') && !a.closest('[hx-boost=false]'))
  .map(a => a.href)"""

OVERFLOW_JS = """() => {
  const d = document.documentElement;
  if (d.scrollWidth <= d.clientWidth) return null;
  // Name the widest elements sticking out, to say what to fix.
  const out = [];
  for (const el of document.body.querySelectorAll('*')) {
    const r = el.getBoundingClientRect();
    if (r.right > d.clientWidth + 1 && r.width > 0) {
      let inScroller = false;
      for (let p = el.parentElement; p && p !== document.body; p = p.parentElement) {
        const ox = getComputedStyle(p).overflowX;
        if (ox === 'auto' || ox === 'scroll' || ox === 'hidden') { inScroller = true; break; }
      }
      if (!inScroller) {
        const cls = el.className && typeof el.className === 'string' ? '.' + el.className.trim().split(/\\s+/).join('.') : '';
        out.push(el.tagName.toLowerCase() + cls + ' right=' + Math.round(r.right));
      }
    }
  }
  return d.scrollWidth + ' > ' + d.clientWidth + ': ' + out.slice(0, 4).join(', ');
}"""

# Where the walk's pages load axe-core from: a same-origin script, allowed by `script-src 'self'`
# (the browser context answers it from node_modules; the server never sees the request).
AXE_URL = "/__walk__/axe.min.js"

# Collects the page's CSP violations from its first script on (an init script is not subject
# to the page's policy).
CSP_INIT_JS = """(() => {
  window.__cspViolations = [];
  document.addEventListener('securitypolicyviolation', e => {
    window.__cspViolations.push(e.violatedDirective + ' blocked ' + (e.blockedURI || 'inline')
      + (e.sourceFile ? ' at ' + e.sourceFile + ':' + e.lineNumber : ''));
  });
})()"""
CSP_CONSOLE = re.compile(r"Content[ -]Security[ -]Policy", re.I)

AXE_JS = """async () => {
  const r = await axe.run(document, {resultTypes: ['violations']});
  return r.violations
    .filter(v => v.impact === 'serious' || v.impact === 'critical')
    .map(v => v.id + ' (' + v.impact + '): ' + v.nodes.slice(0, 3).map(n => n.target.join(' ')).join(' | '));
}"""


# Another page of a list, or another order of it, is the same page.
IGNORED_QUERY_KEYS = {"page", "sort", "dir"}
# At most this many variants (different query parameters) of one path.
MAX_VARIANTS = 3

SETTLE_JS = """() => new Promise(done => {
  let quiet = 0;
  const tick = setInterval(() => {
    quiet = document.querySelector('.htmx-request') ? 0 : quiet + 1;
    if (quiet >= 2) { clearInterval(tick); done(); }
  }, 40);
})"""


def pattern_of(url: str) -> str:
    """The URL with ids replaced and only the names of its query parameters kept."""
    parts = urlsplit(url)
    path = re.sub(r"/\d+(?=[/.]|$)", "/<id>", parts.path)
    keys = sorted(
        {k for k, _ in parse_qsl(parts.query, keep_blank_values=True)} - IGNORED_QUERY_KEYS
    )
    return path + ("?" + "&".join(keys) if keys else "")


def slug_of(pattern: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", pattern).strip("-") or "home"


def identifiers_in(text: str) -> list[str]:
    return sorted({m.group(0) for m in IDENTIFIER.finditer(NOT_TEXT.sub(" ", text))})


def english_in(text: str, allowed: frozenset[str]) -> list[str]:
    words = {m.group(0) for m in LATIN_WORD.finditer(NOT_TEXT.sub(" ", text))}
    return sorted(w for w in words if w not in allowed and not GRADE.match(w))


@dataclass
class Walk:
    """One persona's walk in one language; `problems` lists what is wrong, page by page."""

    context: Any
    base_url: str
    who: str
    lang: str
    axe_path: Path
    widths: tuple[int, ...] = (390,)
    max_depth: int = 2
    max_pages: int = 120
    screenshots: Path | None = None
    data_words: frozenset[str] = frozenset()
    data_values: tuple[str, ...] = ()
    skip: re.Pattern[str] = SKIP_PATH
    problems: list[str] = field(default_factory=list)
    visited: list[str] = field(default_factory=list)
    downloads: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    _expecting: tuple[str, int] | None = None

    def __post_init__(self) -> None:
        self.context.add_init_script(CSP_INIT_JS)
        axe = self.axe_path.read_text(encoding="utf-8")
        self.context.route(
            self.base_url + AXE_URL,
            lambda route: route.fulfill(
                status=200, body=axe, content_type="application/javascript; charset=utf-8"
            ),
        )

    def _page(self) -> Any:
        page = self.context.new_page()
        page.set_default_timeout(20000)
        # A stylesheet, script, image or htmx fragment of the page that fails is a broken link too.
        page.on("response", self._on_response)
        page.on("console", self._on_console)
        return page

    def _on_console(self, message: Any) -> None:
        if CSP_CONSOLE.search(message.text):
            self.console.append(message.text)

    def expect(self, urls: list[tuple[str, int]]) -> None:
        """Visit pages that must answer these statuses (error pages) and check what they show."""
        page = self._page()
        for url, status in urls:
            url = self.base_url + url if url.startswith("/") else url
            self._expecting = (url, status)
            self.visited.append(url)
            for width in self.widths:
                page.set_viewport_size({"width": width, "height": 844 if width < 700 else 900})
                response = page.goto(url, wait_until="load")
                got = response.status if response is not None else 0
                if got != status:
                    self._problem(url, width, "status", f"{got}, expected {status}")
                    continue
                self._check(page, url, width)
                if self.screenshots is not None:
                    name = f"{self.who}-{self.lang}-{width}-error-{status}.png"
                    page.screenshot(path=str(self.screenshots / name), full_page=True)
        self._expecting = None
        page.close()

    def run(self, start: list[str]) -> None:
        page = self._page()
        seen: set[str] = set()
        queue: deque[tuple[str, int, str]] = deque()
        for url in start:
            self._enqueue(queue, seen, url, 0, "navigation")
        while queue and len(self.visited) < self.max_pages:
            url, depth, origin = queue.popleft()
            links = self._visit(page, url, origin, collect=depth < self.max_depth)
            for link in links:
                self._enqueue(queue, seen, link, depth + 1, url)
        page.close()

    def _enqueue(
        self, queue: deque[Any], seen: set[str], url: str, depth: int, origin: str
    ) -> None:
        if url.startswith("/"):
            url = self.base_url + url
        url = url.split("#", 1)[0]
        if not url.startswith(self.base_url + "/"):
            return
        path = urlsplit(url).path
        if self.skip.search(path):
            return
        key = pattern_of(url)
        base = key.split("?", 1)[0]
        if key in seen or sum(1 for k in seen if k.split("?", 1)[0] == base) >= MAX_VARIANTS:
            return
        seen.add(key)
        queue.append((url, depth, origin))

    def _on_response(self, response: Any) -> None:
        url = response.url
        # /favicon.ico is asked for by the browser itself, not by the page.
        same_origin = url.startswith(self.base_url + "/") and urlsplit(url).path != "/favicon.ico"
        # An error page visited on purpose (expect()) answers its status: not a broken link.
        expected = self._expecting == (url, response.status)
        if response.status >= 400 and same_origin and not expected:
            self._problem(url, 0, "status", f"{response.status} (a resource of a page)")

    def _problem(self, url: str, width: int, kind: str, detail: str) -> None:
        where = url.removeprefix(self.base_url)
        self.problems.append(f"{self.who}/{self.lang}/{width}px {where}: {kind}: {detail}")

    def _visit(self, page: Any, url: str, origin: str, *, collect: bool) -> list[str]:
        if DOWNLOAD_PATH.search(urlsplit(url).path):
            response = self.context.request.get(url)
            self.downloads.append(url)
            if response.status >= 400:
                self._problem(url, 0, "status", f"{response.status} (linked from {origin})")
            return []
        links: list[str] = []
        for n, width in enumerate(self.widths):
            page.set_viewport_size({"width": width, "height": 844 if width < 700 else 900})
            response = page.goto(url, wait_until="load")
            if n == 0:
                self.visited.append(url)
            status = response.status if response is not None else 0
            if status >= 400 or status == 0:
                self._problem(url, width, "status", f"{status} (linked from {origin})")
                return []
            if urlsplit(page.url).path.startswith("/login"):
                self._problem(url, width, "status", f"sent to the login page (from {origin})")
                return []
            if "text/html" not in (response.headers.get("content-type") or ""):
                return []
            # htmx fragments loaded with the page (live counts, checkout totals): let them land.
            page.evaluate(SETTLE_JS)
            self._check(page, url, width)
            if self.screenshots is not None:
                name = f"{self.who}-{self.lang}-{width}-{slug_of(pattern_of(url))}.png"
                page.screenshot(path=str(self.screenshots / name), full_page=True)
            if n == 0 and collect:
                links = page.evaluate(LINKS_JS)
        return links

    def _check(self, page: Any, url: str, width: int) -> None:
        # The policy first, before the walk adds a script of its own (axe).
        for violation in page.evaluate("window.__cspViolations || ['no CSP listener']"):
            self._problem(url, width, "csp", violation)
        while self.console:
            self._problem(url, width, "csp", "console: " + self.console.pop(0)[:300])
        lang = page.evaluate("document.documentElement.lang")
        if lang != self.lang:
            self._problem(url, width, "lang", f"<html lang={lang!r}>")
        text = page.evaluate(PAGE_TEXT_JS)
        for value in self.data_values:  # codes people typed (a WeChat ID): data, not words
            text = text.replace(value, " ")
        found = identifiers_in(text)
        if found:
            self._problem(url, width, "identifier", ", ".join(found[:12]))
        if self.lang.startswith("zh"):
            english = english_in(text, ZH_ALLOWED | self.data_words)
            if english:
                self._problem(url, width, "english", ", ".join(english[:20]))
        if width < 700:
            overflow = page.evaluate(OVERFLOW_JS)
            if overflow:
                self._problem(url, width, "overflow", overflow)
        page.add_script_tag(url=self.base_url + AXE_URL)  # same origin: allowed by the CSP
        for violation in page.evaluate(AXE_JS):
            self._problem(url, width, "axe", violation)
