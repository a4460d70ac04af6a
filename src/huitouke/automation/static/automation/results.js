// The results chart: contacted customers against the holdout, conversion and revenue.
(function () {
  const node = document.getElementById("results-chart");
  if (!node || !window.echarts) return;
  const data = JSON.parse(node.dataset.chart);
  const chart = window.echarts.init(node);
  chart.setOption({
    tooltip: { trigger: "axis" },
    legend: { data: data.names },
    grid: { left: 50, right: 50, top: 40, bottom: 30 },
    xAxis: { type: "category", data: data.labels },
    yAxis: [{ type: "value", name: "%" }, { type: "value", name: "¥" }],
    series: [
      { name: data.names[0], type: "bar", data: data.conversion },
      { name: data.names[1], type: "bar", yAxisIndex: 1, data: data.revenue },
    ],
  });
  window.addEventListener("resize", () => chart.resize());
})();
