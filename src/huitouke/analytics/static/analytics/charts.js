// The pieces every chart page shares (the analytics page's analytics/dashboard.js and the home
// dashboard's web/dashboard.js): read the JSON a page embeds (json_script), draw a chart into
// its element, and escape data for tooltip formatters, which return HTML. Loaded before the
// page's own script; both are deferred, so they run in order.
"use strict";

window.HuitoukeCharts = (function () {
  // Tooltip formatters return HTML: every piece of data in them goes through esc().
  const esc = (v) => String(v).replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" })[c]);

  function data(id) {
    const el = document.getElementById(id);
    return el ? JSON.parse(el.textContent) : null;
  }

  function draw(id, option) {
    const el = document.getElementById(id);
    if (!el || !window.echarts) return;
    const chart = window.echarts.init(el);
    chart.setOption(option);
    window.addEventListener("resize", () => chart.resize());
  }

  return Object.freeze({ esc, data, draw });
})();
