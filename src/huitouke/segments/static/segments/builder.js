// Segment builder: edits the JSON definition in #id_definition through rows of selects, with
// nested all/any groups; the server validates and counts (htmx, on "segment-changed").
"use strict";
(function () {
  const root = document.getElementById("builder");
  const textarea = document.getElementById("id_definition");
  if (root && textarea) initBuilder(root, textarea);
  const chart = document.getElementById("size-chart");
  if (chart) initChart(chart);

  function initBuilder(root, textarea) {
    const fields = JSON.parse(root.dataset.fields);
    const labels = JSON.parse(root.dataset.labels);
    const opLabels = JSON.parse(root.dataset.ops || "{}");
    const byName = Object.fromEntries(fields.map((f) => [f.name, f]));
    let definition;
    try { definition = JSON.parse(textarea.value || "{}"); } catch (e) { definition = {}; }
    if (!definition.conditions) definition = { version: 1, match: "all", conditions: [] };

    const el = (tag, attrs, ...children) => {
      const node = document.createElement(tag);
      Object.entries(attrs || {}).forEach(([k, v]) => (k === "text" ? (node.textContent = v) : node.setAttribute(k, v)));
      children.forEach((c) => node.appendChild(c));
      return node;
    };
    const changed = () => {
      textarea.value = JSON.stringify(definition);
      document.body.dispatchEvent(new Event("segment-changed"));
    };
    textarea.addEventListener("change", () => {
      try { definition = JSON.parse(textarea.value); render(); changed(); } catch (e) { /* server reports */ }
    });

    function defaultValue(field, op) {
      if (op === "between") return [0, 0];
      if (field.type === "bool") return true;
      if (field.type === "choice" || field.type === "multi") return field.choices.length ? [field.choices[0][0]] : [];
      if (field.type === "tags") return [];
      if (field.type === "bought") return { ids: field.choices.length ? [field.choices[0][0]] : [] };
      if (field.type === "date" || field.type === "custom_date") return op === "within_last_days" ? 30 : new Date().toISOString().slice(0, 10);
      if (field.type === "number") return 0;
      return "";
    }

    function valueInput(cond, field) {
      const op = cond.op;
      if (op === "is_empty" || op === "is_not_empty") return el("span");
      if (field.type === "bool") {
        const s = el("select", { "aria-label": labels.value });
        [["true", "✓"], ["false", "✗"]].forEach(([v, t]) => s.appendChild(el("option", { value: v, text: t })));
        s.value = String(cond.value);
        s.onchange = () => { cond.value = s.value === "true"; changed(); };
        return s;
      }
      if ((field.type === "choice" || field.type === "multi" || field.type === "bought") && field.choices.length) {
        // Ids of the shop's rows (store, staff, category, product) are chosen by name; the
        // definition keeps the numbers.
        const bought = field.type === "bought";
        const current = (bought ? (cond.value || {}).ids : cond.value) || [];
        const s = el("select", { multiple: "multiple", size: "3", "aria-label": labels.value });
        field.choices.forEach(([v, t]) => {
          const o = el("option", { value: String(v), text: t });
          if (current.map(String).includes(String(v))) o.selected = true;
          s.appendChild(o);
        });
        s.onchange = () => {
          const picked = Array.from(s.selectedOptions).map((o) => (field.ids ? Number(o.value) : o.value));
          if (bought) cond.value = Object.assign({}, cond.value || {}, { ids: picked });
          else cond.value = picked;
          changed();
        };
        return s;
      }
      const input = el("input", { type: "text", size: "14", "aria-label": labels.value });
      const show = (v) => (Array.isArray(v) ? v.join(", ") : (v && typeof v === "object" ? (v.ids || []).join(", ") : v ?? ""));
      input.value = show(cond.value);
      input.oninput = () => {
        const raw = input.value.trim();
        const nums = (s) => s.split(/[,，\s]+/).filter(Boolean).map((x) => (isNaN(Number(x)) ? x : Number(x)));
        if (op === "between") cond.value = nums(raw);
        else if (field.type === "tags") cond.value = raw.split(/[,，]+/).map((s) => s.trim()).filter(Boolean);
        else if (field.type === "choice") cond.value = nums(raw);
        else if (field.type === "bought") cond.value = { ids: nums(raw) };
        else if (field.type === "number" || op === "within_last_days") cond.value = raw === "" ? null : Number(raw);
        else cond.value = raw;
        changed();
      };
      return input;
    }

    function condRow(cond, parent, index) {
      const row = el("div", { class: "row", "data-condition": "" });
      const fieldSel = el("select", { "aria-label": labels.field });
      fields.forEach((f) => fieldSel.appendChild(el("option", { value: f.name, text: f.label })));
      fieldSel.value = cond.field;
      const field = byName[cond.field] || fields[0];
      const opSel = el("select", { "aria-label": labels.operator });
      field.ops.forEach((o) => opSel.appendChild(el("option", { value: o, text: opLabels[o] || o })));
      opSel.value = cond.op;
      fieldSel.onchange = () => {
        const f = byName[fieldSel.value];
        parent.conditions[index] = { field: f.name, op: f.ops[0], value: defaultValue(f, f.ops[0]) };
        render(); changed();
      };
      opSel.onchange = () => { cond.op = opSel.value; cond.value = defaultValue(field, cond.op); render(); changed(); };
      const remove = el("button", { type: "button", class: "linkish", text: labels.remove });
      remove.onclick = () => { parent.conditions.splice(index, 1); render(); changed(); };
      [fieldSel, opSel, valueInput(cond, field), remove].forEach((n) => row.appendChild(n));
      return row;
    }

    function groupBox(group, parent, index) {
      const box = el("div", { class: "card", "data-group": "" });
      const head = el("div", { class: "row" });
      const match = el("select", { "aria-label": labels.match });
      [["all", labels.all], ["any", labels.any]].forEach(([v, t]) => match.appendChild(el("option", { value: v, text: t })));
      match.value = group.match || "all";
      match.onchange = () => { group.match = match.value; changed(); };
      head.appendChild(el("span", { text: parent ? "" : labels.match }));
      head.appendChild(match);
      if (parent) {
        const remove = el("button", { type: "button", class: "linkish", text: labels.remove });
        remove.onclick = () => { parent.conditions.splice(index, 1); render(); changed(); };
        head.appendChild(remove);
      }
      box.appendChild(head);
      group.conditions.forEach((c, i) => box.appendChild(c.conditions ? groupBox(c, group, i) : condRow(c, group, i)));
      const add = el("button", { type: "button", class: "btn secondary small", text: labels.add, "data-add-condition": "" });
      add.onclick = () => { const f = fields[0]; group.conditions.push({ field: f.name, op: f.ops[0], value: defaultValue(f, f.ops[0]) }); render(); changed(); };
      const addGroup = el("button", { type: "button", class: "btn secondary small", text: labels.group });
      addGroup.onclick = () => { group.conditions.push({ match: "any", conditions: [] }); render(); changed(); };
      box.appendChild(el("div", { class: "row" }, add, addGroup));
      return box;
    }

    function render() {
      root.replaceChildren(groupBox(definition, null, 0));
      textarea.value = JSON.stringify(definition);
    }
    render();
  }

  function initChart(node) {
    const data = JSON.parse(node.dataset.series);
    if (!data.days.length || !window.echarts) { node.style.display = data.days.length ? "" : "none"; return; }
    const chart = window.echarts.init(node);
    chart.setOption({ grid: { left: 40, right: 10, top: 10, bottom: 30 }, xAxis: { type: "category", data: data.days },
      yAxis: { type: "value" }, series: [{ type: "line", data: data.counts, smooth: true }], tooltip: { trigger: "axis" } });
    window.addEventListener("resize", () => chart.resize());
  }
})();
