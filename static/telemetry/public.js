/* The public statistics page's one chart (data embedded as #public-data; gaps are suppressed buckets). */
(function () {
  "use strict";
  function draw() {
    const data = JSON.parse(document.getElementById("public-data").textContent);
    const dark = window.matchMedia && window.matchMedia("(prefers-color-scheme: dark)").matches;
    Chart.defaults.color = dark ? "#bbb" : "#555";
    Chart.defaults.maintainAspectRatio = false;
    Chart.defaults.animation = false;
    new Chart(document.getElementById("public-active"), {
      type: "line",
      data: { labels: data.labels, datasets: [{ label: "active instances", data: data.active, borderColor: "#2563eb",
        backgroundColor: "rgba(37,99,235,0.15)", fill: true, pointRadius: 0, tension: 0.25, spanGaps: false }] },
      options: { plugins: { legend: { display: false } },
        scales: { x: { ticks: { maxTicksLimit: 8, callback: (v) => data.labels[v] } }, y: { beginAtZero: true, ticks: { precision: 0 } } } },
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
