// Small progressive enhancements; every page works without them.
"use strict";

// Quick order: keep the running total up to date as lines change.
function hutkOrderTotal() {
  const form = document.querySelector("[data-order-form]");
  if (!form) return;
  let gross = 0;
  form.querySelectorAll("[data-line]").forEach((row) => {
    const qty = parseFloat(row.querySelector("input[data-qty]")?.value || "0") || 0;
    const price = parseFloat(row.querySelector("input[data-price]")?.value || "0") || 0;
    gross += qty * price;
  });
  const discount = parseFloat(form.querySelector("[name=discount]")?.value || "0") || 0;
  const out = form.querySelector("[data-total]");
  if (out) out.textContent = "¥" + Math.max(0, gross - discount).toFixed(2);
}

document.addEventListener("input", (e) => {
  if (e.target.closest("[data-order-form]")) hutkOrderTotal();
});

document.addEventListener("change", (e) => {
  // A filter that applies as soon as it changes (instead of an inline onchange).
  const auto = e.target.closest("[data-submit-on-change]");
  if (auto && auto.form) auto.form.requestSubmit();
  // Choosing a product fills in its price.
  const sel = e.target.closest("select[data-product]");
  if (sel) {
    const opt = sel.selectedOptions[0];
    const price = sel.closest("[data-line]").querySelector("input[data-price]");
    if (opt && opt.dataset.price && price) price.value = opt.dataset.price;
    hutkOrderTotal();
  }
});

document.addEventListener("click", (e) => {
  const add = e.target.closest("[data-add-line]");
  if (add) {
    e.preventDefault();
    const form = add.closest("form");
    const total = form.querySelector("[name=lines-TOTAL_FORMS]");
    const tpl = form.querySelector("#line-template");
    const n = parseInt(total.value, 10);
    const html = tpl.innerHTML.replace(/__prefix__/g, String(n));
    form.querySelector("[data-lines]").insertAdjacentHTML("beforeend", html);
    total.value = String(n + 1);
  }
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

document.addEventListener("DOMContentLoaded", hutkOrderTotal);

// A table that scrolls sideways on a phone can be scrolled from the keyboard too (WCAG 2.1.1).
function hutkScrollers(root) {
  root.querySelectorAll(".table-wrap:not([tabindex])").forEach((el) => { el.tabIndex = 0; });
}
document.addEventListener("DOMContentLoaded", () => hutkScrollers(document));
document.addEventListener("htmx:afterSettle", (e) => hutkScrollers(e.target));
