// Draws the home dashboard's charts from the JSON the page embeds (json_script).
// Every number is also on the page as text; the charts only add the picture.
"use strict";

(function () {
  // esc (tooltip formatters return HTML), data and draw: analytics/charts.js.
  const { esc, data, draw } = window.HuitoukeCharts;
  // One colour per meaning, the same on every chart: new customers, returning customers, and
  // each lifecycle stage.
  const NEW = "#3b82c4";
  const RETURNING = "#c2185b";
  const STAGE_COLOURS = { potential: "#9e9e9e", new: NEW, active: "#2e7d32", silent: "#ef8a17", churned: "#b71c1c" };

  // An axis tooltip as text: "2026-03<br>New customers: 12".
  function axisTip(format) {
    return (params) => {
      const rows = params.map((p) => esc(p.seriesName) + ": " + esc(format(p.value)));
      return [esc(params[0].axisValue)].concat(rows).join("<br>");
    };
  }

  const yuan = (v) => "¥" + Number(v).toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const plain = (v) => String(v);
  const base = { grid: { left: 56, right: 16, top: 36, bottom: 28 }, legend: { top: 0 } };

  function bars(id, d, news, returning, format, axisName) {
    draw(id, Object.assign({}, base, {
      tooltip: { trigger: "axis", formatter: axisTip(format) },
      xAxis: { type: "category", data: d.months, axisLabel: { hideOverlap: true } },
      yAxis: { type: "value", axisLabel: { formatter: (v) => axisName + (v >= 10000 ? v / d.labels.big[1] + d.labels.big[0] : String(v)) } },
      series: [
        { name: d.labels.new, type: "bar", stack: "all", color: NEW, data: news },
        { name: d.labels.returning, type: "bar", stack: "all", color: RETURNING, data: returning },
      ],
    }));
  }

  function trends(d) {
    bars("revenue-chart", d, d.new_revenue, d.returning_revenue, yuan, d.labels.yuan);
    bars("buyers-chart", d, d.new_buyers, d.returning_buyers, plain, "");
    draw("trend-chart", Object.assign({}, base, {
      tooltip: { trigger: "axis", formatter: axisTip(plain) },
      xAxis: { type: "category", data: d.trend_months, axisLabel: { hideOverlap: true } },
      yAxis: { type: "value" },
      series: [
        { name: d.labels.new, type: "line", color: NEW, data: d.trend_new },
        { name: d.labels.returning, type: "line", color: RETURNING, data: d.trend_returning },
      ],
    }));
  }

  function lifecycle(d) {
    const stages = d.stages.filter((s) => s.count > 0);
    draw("lifecycle-chart", {
      tooltip: { trigger: "item", formatter: (p) => esc(p.name) + ": " + esc(p.value) + " (" + esc(p.percent) + "%)" },
      legend: { bottom: 0 },
      series: [{
        type: "pie", radius: ["35%", "65%"], top: 0, bottom: 30,
        label: { formatter: (p) => p.name + " " + p.percent + "%" },
        data: stages.map((s) => ({ name: s.label, value: s.count, itemStyle: { color: STAGE_COLOURS[s.code] } })),
      }],
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    const t = data("trends-data");
    if (t) trends(t);
    const l = data("lifecycle-data");
    if (l) lifecycle(l);
  });
})();
