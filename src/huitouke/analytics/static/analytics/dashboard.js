// Draws the analytics dashboard's charts from the JSON the page embeds (json_script).
// Every number is also on the page as text or a link; the charts only add the picture.
"use strict";

(function () {
  // esc (tooltip formatters return HTML), data and draw: analytics/charts.js.
  const { esc, data, draw } = window.HuitoukeCharts;

  function funnel(d) {
    const stages = d.stages.map((s) => ({ name: s.label, value: s.count }));
    draw("funnel-chart", {
      tooltip: { trigger: "item" },
      series: [{ type: "funnel", sort: "none", left: "10%", width: "80%", label: { formatter: "{b}: {c}" }, data: stages }],
    });
  }

  function cohorts(d) {
    draw("cohort-chart", {
      tooltip: { formatter: (p) => esc(d.cohorts[p.value[1]]) + " · +" + esc(p.value[0]) + ": " + esc(p.value[2]) + "%" },
      grid: { left: 110, right: 20, top: 10, bottom: 70 },
      xAxis: { type: "category", data: d.months, name: d.x_name, nameLocation: "middle", nameGap: 28 },
      yAxis: { type: "category", data: d.cohorts, inverse: true },
      visualMap: { min: 0, max: 100, calculable: true, orient: "horizontal", left: "center", bottom: 0, itemHeight: 80 },
      series: [{ name: d.customers_title, type: "heatmap", data: d.points, label: { show: true, fontSize: 10 } }],
    });
  }

  function categories(d) {
    draw("category-chart", {
      tooltip: { trigger: "axis" },
      legend: { data: [d.labels.revenue, d.labels.previous] },
      grid: { left: 90, right: 20, top: 30, bottom: 30 },
      xAxis: { type: "value" },
      yAxis: { type: "category", data: d.names, inverse: true },
      series: [
        { name: d.labels.revenue, type: "bar", data: d.revenue },
        { name: d.labels.previous, type: "bar", data: d.previous },
      ],
    });
  }

  function cycles(d) {
    draw("cycles-chart", {
      tooltip: { trigger: "axis" },
      legend: { data: [d.labels.band, d.labels.median, d.labels.configured] },
      grid: { left: 90, right: 20, top: 30, bottom: 30 },
      xAxis: { type: "value", name: d.labels.days },
      yAxis: { type: "category", data: d.names, inverse: true },
      series: [
        { name: d.labels.p25, type: "bar", stack: "band", itemStyle: { color: "transparent" }, data: d.p25, tooltip: { show: false } },
        { name: d.labels.band, type: "bar", stack: "band", data: d.band },
        { name: d.labels.median, type: "scatter", symbolSize: 12, data: d.median },
        { name: d.labels.configured, type: "scatter", symbol: "diamond", symbolSize: 12, data: d.configured },
      ],
    });
  }

  function traffic(d) {
    draw("traffic-chart", {
      tooltip: { formatter: (p) => esc(p.value[2]) + ": " + esc(p.value[0]) + " / " + esc(p.value[1]) + "%" },
      legend: {},
      xAxis: { type: "value", name: d.x_name },
      yAxis: { type: "value", name: d.y_name },
      series: d.series.map((s, i) => ({
        name: s.name,
        type: "scatter",
        data: s.data,
        markLine: i === 0 && d.median_buyers !== null ? {
          silent: true, symbol: "none", lineStyle: { type: "dashed" },
          data: [{ xAxis: d.median_buyers }, { yAxis: d.median_margin }],
        } : undefined,
      })),
    });
  }

  function calibration(d) {
    draw("calibration-chart", {
      tooltip: { trigger: "axis" },
      legend: { data: [d.labels.actual, d.labels.predicted] },
      xAxis: { type: "category", data: d.x, name: d.labels.x, nameLocation: "middle", nameGap: 28 },
      yAxis: { type: "value", name: d.labels.y },
      series: [
        { name: d.labels.actual, type: "line", data: d.actual },
        { name: d.labels.predicted, type: "line", lineStyle: { type: "dashed" }, data: d.predicted },
      ],
    });
  }

  document.addEventListener("DOMContentLoaded", () => {
    const charts = [
      ["funnel-data", funnel],
      ["cohort-data", cohorts],
      ["category-data", categories],
      ["cycles-data", cycles],
      ["traffic-data", traffic],
      ["calibration-data", calibration],
    ];
    for (const [id, fn] of charts) {
      const d = data(id);
      if (d) fn(d);
    }
  });
})();
