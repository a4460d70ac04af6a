// Small progressive enhancements; every page works without them.
"use strict";

document.addEventListener("change", (e) => {
  // A filter that applies as soon as it changes (instead of an inline onchange).
  const auto = e.target.closest("[data-submit-on-change]");
  if (auto && auto.form) auto.form.requestSubmit();
});

document.addEventListener("click", (e) => {
  // A usable coupon's button fills the coupon field (the preview then recalculates).
  const use = e.target.closest("[data-use-coupon]");
  if (use) {
    const field = document.getElementById("id_coupon");
    if (field) {
      field.value = use.dataset.code;
      field.dispatchEvent(new Event("change", { bubbles: true }));
    }
  }
  if (e.target.closest("[data-print]")) window.print();
  const copy = e.target.closest("[data-copy]");
  if (copy) {
    e.preventDefault();
    navigator.clipboard?.writeText(copy.dataset.copy);
    copy.textContent = copy.dataset.copied || "✓";
  }
});

// Forms that ask once before an irreversible action (no inline handlers: see the CSP).
document.addEventListener("submit", (e) => {
  const form = e.target.closest("form[data-confirm]");
  if (form && !window.confirm(form.dataset.confirm)) e.preventDefault();
});

// A table that scrolls sideways on a phone can be scrolled from the keyboard too (WCAG 2.1.1).
function hutkScrollers(root) {
  root.querySelectorAll(".table-wrap:not([tabindex])").forEach((el) => { el.tabIndex = 0; });
}
document.addEventListener("DOMContentLoaded", () => hutkScrollers(document));
document.addEventListener("htmx:afterSettle", (e) => hutkScrollers(e.target));
