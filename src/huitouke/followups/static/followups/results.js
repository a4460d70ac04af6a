// The staff results chart: revenue and tasks (on time, late, overdue) per staff member.
// Names reach the chart only as axis data; ECharts' own tooltips write them as text.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  var el = document.getElementById("staff-chart"), data = document.getElementById("staff-chart-data");
  if (!el || !data || !window.echarts) return;
  var d = JSON.parse(data.textContent), chart = echarts.init(el);
  chart.setOption({
    tooltip: {trigger: "axis"},
    legend: {data: [d.labels.revenue, d.labels.on_time, d.labels.late, d.labels.overdue]},
    xAxis: {type: "category", data: d.names},
    yAxis: [{type: "value", name: "¥"}, {type: "value", minInterval: 1}],
    series: [
      {name: d.labels.revenue, type: "bar", data: d.revenue},
      {name: d.labels.on_time, type: "bar", yAxisIndex: 1, stack: "tasks", data: d.on_time},
      {name: d.labels.late, type: "bar", yAxisIndex: 1, stack: "tasks", data: d.late},
      {name: d.labels.overdue, type: "bar", yAxisIndex: 1, stack: "tasks", data: d.overdue}
    ]
  });
  window.addEventListener("resize", function () { chart.resize(); });
});
