// The quick order (loyalty/quick_order.html): lines as cards, the product picked from a search,
// the customer and her benefits swapped in by HTMX, and the live total. The server checks and
// recomputes everything on save (loyalty.checkout.quote_checkout); this mirrors it in cents.
"use strict";

(function () {
  const form = () => document.querySelector("[data-quick-order]");
  const cents = (text) => {
    const value = parseFloat(String(text || "").replace(/[¥,\s]/g, ""));
    return Number.isFinite(value) ? Math.round(value * 100) : 0;
  };
  const yuan = (c) =>
    "¥" + (c / 100).toLocaleString("en-US", { minimumFractionDigits: 2, maximumFractionDigits: 2 });

  function couponAmount(radio, priced, gross, after) {
    if (!radio || !radio.value) return 0;
    const d = radio.dataset;
    const cats = (d.categories || "").split(",").filter(Boolean);
    let base = after;
    if (cats.length && gross > 0) {
      const eligible = priced.filter((p) => cats.includes(p.category)).reduce((s, p) => s + p.amount, 0);
      base = Math.floor((after * eligible) / gross);
    }
    if (cats.length && base <= 0) return 0;
    if (base < cents(d.threshold)) return 0;
    let amount;
    if (d.kind === "percent_off") {
      amount = Math.round((base * parseFloat(d.percent || "0")) / 100);
      if (d.max !== "") amount = Math.min(amount, cents(d.max));
    } else {
      amount = cents(d.amount);
    }
    return Math.min(amount, base);
  }

  function recompute() {
    const f = form();
    if (!f) return;
    const priced = [];
    f.querySelectorAll("[data-lines] [data-line]").forEach((line) => {
      const qty = parseInt(line.querySelector("input[data-qty]").value, 10);
      const amount = (qty > 0 ? qty : 0) * cents(line.querySelector("input[data-price]").value);
      line.querySelector("[data-qo-amount]").textContent = yuan(amount);
      priced.push({ amount, category: line.querySelector("input[data-product]").dataset.category || "" });
    });
    const gross = priced.reduce((s, p) => s + p.amount, 0);
    const benefits = f.querySelector("#qo-benefits");
    const rate = Math.round(parseFloat(benefits?.dataset.tierRate || "1") * 10000);
    const tier = rate < 10000 ? Math.round((gross * (10000 - rate)) / 10000) : 0;
    const after = Math.max(0, gross - tier - cents(f.querySelector("[name=discount]")?.value));
    const coupon = couponAmount(f.querySelector("input[name=coupon]:checked"), priced, gross, after);
    const payable = after - coupon;
    const perYuan = parseInt(benefits?.dataset.pointsRate || "100", 10) || 100;
    const maxAmount = Math.floor((payable * parseInt(benefits?.dataset.pointsShare || "0", 10)) / 100);
    const maxPoints = Math.min(
      Math.floor((maxAmount * perYuan) / 100),
      parseInt(benefits?.dataset.pointsBalance || "0", 10),
    );
    f.querySelectorAll("[data-qo-max]").forEach((el) => (el.textContent = String(maxPoints)));
    const pointsField = f.querySelector("#id_points");
    if (pointsField && pointsField.dataset.mode === "max") pointsField.value = String(maxPoints);
    const points = parseInt(pointsField?.value || "0", 10) || 0;
    let pointsAmount = 0;
    const over = points > maxPoints;
    if (points > 0 && !over) pointsAmount = Math.floor((points * 100) / perYuan);
    const note = f.querySelector("[data-qo-points-note]");
    if (note) note.textContent = over ? note.dataset.over.replace("{n}", String(maxPoints)) : "";
    f.querySelectorAll("[data-qo-total]").forEach((el) => (el.textContent = yuan(payable - pointsAmount)));
  }

  function renumber(f) {
    const lines = f.querySelectorAll("[data-lines] [data-line]");
    lines.forEach((line, i) => {
      line.querySelectorAll("[name^=lines-], [id^=id_lines-], label[for^=id_lines-]").forEach((el) => {
        for (const attr of ["name", "id", "for"]) {
          const v = el.getAttribute(attr);
          if (v) el.setAttribute(attr, v.replace(/lines-(\d+|__prefix__)-/, `lines-${i}-`));
        }
      });
    });
    f.querySelector("[name=lines-TOTAL_FORMS]").value = String(lines.length);
  }

  function pick(button) {
    const line = button.closest("[data-line]");
    const product = line.querySelector("input[data-product]");
    const search = line.querySelector("[data-qo-product-search]");
    const price = line.querySelector("input[data-price]");
    product.value = button.dataset.pk;
    product.dataset.category = button.dataset.category || "";
    search.value = button.dataset.name;
    search.dataset.chosen = button.dataset.name;
    price.value = button.dataset.price;
    price.dataset.auto = "1";
    line.querySelector(".qo-results").replaceChildren();
    if (window.htmx) window.htmx.trigger(search, "htmx:abort"); // a search still on its way
    recompute();
    price.dispatchEvent(new Event("change", { bubbles: true }));
  }

  document.addEventListener("click", (e) => {
    const f = e.target.closest("[data-quick-order]");
    if (!f) return;
    const choice = e.target.closest("[data-pick-product]");
    if (choice) return pick(choice);
    if (e.target.closest("[data-qo-add]")) {
      const html = f.querySelector("#qo-line-template").innerHTML;
      f.querySelector("[data-lines]").insertAdjacentHTML("beforeend", html);
      const line = f.querySelector("[data-lines] [data-line]:last-child");
      renumber(f);
      if (window.htmx) window.htmx.process(line);
      line.querySelector("[data-qo-product-search]").focus();
      return recompute();
    }
    const remove = e.target.closest("[data-qo-remove]");
    if (remove) {
      const lines = f.querySelectorAll("[data-lines] [data-line]");
      const line = remove.closest("[data-line]");
      if (lines.length > 1) line.remove();
      else line.querySelectorAll("input").forEach((el) => (el.value = el.matches("[data-qty]") ? "1" : ""));
      renumber(f);
      recompute();
      return f.dispatchEvent(new Event("change", { bubbles: true }));
    }
    const step = e.target.closest("[data-qo-step]");
    if (step) {
      const qty = step.parentElement.querySelector("input[data-qty]");
      qty.value = String(Math.max(1, (parseInt(qty.value, 10) || 1) + parseInt(step.dataset.qoStep, 10)));
      recompute();
      return qty.dispatchEvent(new Event("change", { bubbles: true }));
    }
    const points = e.target.closest("[data-qo-points]");
    if (points) {
      const field = f.querySelector("#id_points");
      field.dataset.mode = points.dataset.qoPoints === "max" ? "max" : "";
      field.value = points.dataset.qoPoints === "max" ? "" : "0";
      f.querySelectorAll("[data-qo-points]").forEach((b) => b.setAttribute("aria-pressed", String(b === points)));
      recompute();
      return field.dispatchEvent(new Event("change", { bubbles: true }));
    }
  });

  document.addEventListener("input", (e) => {
    const f = e.target.closest("[data-quick-order]");
    if (!f) return;
    const search = e.target.closest("[data-qo-product-search]");
    if (search && search.dataset.chosen !== undefined && search.value !== search.dataset.chosen) {
      // Typing over a chosen product starts a new search: the line is a typed item until one is picked.
      const line = search.closest("[data-line]");
      const product = line.querySelector("input[data-product]");
      const price = line.querySelector("input[data-price]");
      product.value = "";
      product.dataset.category = "";
      delete search.dataset.chosen;
      if (price.dataset.auto) {
        price.value = "";
        delete price.dataset.auto;
      }
    }
    if (e.target.matches("[data-price]")) delete e.target.dataset.auto;
    if (e.target.matches("#id_points")) {
      e.target.dataset.mode = "";
      f.querySelectorAll("[data-qo-points]").forEach((b) => b.setAttribute("aria-pressed", "false"));
    }
    recompute();
  });

  document.addEventListener("change", (e) => {
    if (e.target.closest("[data-quick-order]")) recompute();
  });

  document.addEventListener("keydown", (e) => {
    if (e.key !== "Enter" || e.isComposing) return;
    const lookup = e.target.closest("[data-qo-lookup]");
    const search = e.target.closest("[data-qo-product-search]");
    if (!lookup && !search) return;
    // Enter (a scanner ends with it) looks up now and never submits the order half done.
    e.preventDefault();
    if (lookup) {
      const found = document.querySelectorAll("#qo-matches [data-qo-choose]");
      if (found.length === 1 && !lookup.dataset.dirty) found[0].click();
      else if (window.htmx) window.htmx.trigger(lookup, "qo-lookup");
    } else {
      const found = search.closest("[data-line]").querySelectorAll("[data-pick-product]");
      if (found.length === 1) pick(found[0]);
    }
  });

  document.addEventListener("input", (e) => {
    const lookup = e.target.closest("[data-qo-lookup]");
    if (lookup) lookup.dataset.dirty = "1";
  });

  document.addEventListener("htmx:beforeSwap", (e) => {
    // Results that arrive after a product was picked are not shown over the chosen product.
    const search = e.detail.requestConfig && e.detail.requestConfig.elt;
    if (search && search.matches && search.matches("[data-qo-product-search]")) {
      if (search.dataset.chosen !== undefined && search.value === search.dataset.chosen) e.detail.shouldSwap = false;
    }
  });

  document.addEventListener("htmx:afterSwap", (e) => {
    const target = e.detail.target;
    if (target && target.id === "qo-matches") {
      const lookup = document.querySelector("[data-qo-lookup]");
      if (lookup) delete lookup.dataset.dirty;
    }
    // Her coupons and points arrived with her: the server's summary is asked again.
    if (target && target.id === "qo-customer" && window.htmx) window.htmx.trigger(document.body, "qo-refresh");
  });

  document.addEventListener("htmx:afterSettle", (e) => {
    recompute();
    const elt = e.detail.requestConfig && e.detail.requestConfig.elt;
    if (elt && elt.matches && elt.matches("[data-quick-order]")) {
      const error = form()?.querySelector(".errorlist");
      if (error) error.scrollIntoView({ block: "center" });
    }
  });

  document.addEventListener("DOMContentLoaded", recompute);
})();
