/* Draws the fleet dashboard's charts from the JSON the server embedded (#fleet-data).
   Every canvas names its chart in data-chart; a canvas whose chart fails to build stays blank,
   which the browser tests detect through Chart.getChart(canvas). */
(function () {
  "use strict";
  const PALETTE = ["#2563eb", "#16a34a", "#d97706", "#9333ea", "#dc2626", "#0891b2", "#65a30d", "#db2777", "#78716c"];
  const STATUS_COLORS = { new: "#3b82f6", active: "#16a34a", stale: "#d97706", dead: "#6b7280" };

  function color(i, alpha) {
    const hex = PALETTE[i % PALETTE.length];
    if (alpha === undefined) return hex;
    const n = parseInt(hex.slice(1), 16);
    return `rgba(${n >> 16}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
  }

  function timeAxis(labels) {
    return { ticks: { maxTicksLimit: 12, callback: (v) => labels[v].slice(5) }, grid: { display: false } };
  }

  const builders = {
    activity(d) {
      return {
        type: "line",
        data: { labels: d.activity.labels, datasets: [
          { label: "active", data: d.activity.active_instances, borderColor: color(0), backgroundColor: color(0, 0.15), fill: true, tension: 0.25, pointRadius: 0 },
          { label: "new", data: d.activity.new_instances, borderColor: color(1), tension: 0.25, pointRadius: 0 },
        ] },
        options: { scales: { x: timeAxis(d.activity.labels), y: { beginAtZero: true, ticks: { precision: 0 } } } },
      };
    },
    versions(d) {
      return {
        type: "line",
        data: { labels: d.versions.labels, datasets: d.versions.datasets.map((s, i) => ({
          label: s.label, data: s.data, fill: true, pointRadius: 0, tension: 0.2,
          borderColor: s.label === "other" ? "#a8a29e" : color(i), backgroundColor: s.label === "other" ? "rgba(168,162,158,0.6)" : color(i, 0.75),
        })) },
        options: { interaction: { mode: "index", intersect: false },
          scales: { x: timeAxis(d.versions.labels), y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } } },
      };
    },
    movement(d) {
      const a = d.activity;
      const neg = (xs) => xs.map((x) => -x);
      return {
        type: "bar",
        data: { labels: a.labels, datasets: [
          { label: "new", data: a.new_instances, backgroundColor: color(1) },
          { label: "came back", data: a.resurrected_instances, backgroundColor: color(0) },
          { label: "went stale", data: neg(a.stale_instances), backgroundColor: color(2) },
          { label: "went dead", data: neg(a.dead_instances), backgroundColor: "#6b7280" },
        ] },
        options: { scales: { x: { ...timeAxis(a.labels), stacked: true }, y: { stacked: true, ticks: { precision: 0 } } },
          plugins: { tooltip: { callbacks: { label: (c) => `${c.dataset.label}: ${Math.abs(c.raw)}` } } } },
      };
    },
    funnel(d) {
      return {
        type: "bar",
        data: { labels: ["started", "succeeded", "failed", "asked for support"], datasets: [
          { label: "installs", data: d.funnel, backgroundColor: [color(0), color(1), color(4), color(2)] },
        ] },
        options: { indexAxis: "y", plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } },
      };
    },
    events(d) {
      return {
        type: "bar",
        data: { labels: d.events.map((e) => e.name), datasets: [
          { label: "events", data: d.events.map((e) => e.count), backgroundColor: color(3, 0.8) },
        ] },
        options: { indexAxis: "y", plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } },
      };
    },
    statuses(d) {
      const names = Object.keys(d.statuses);
      return {
        type: "doughnut",
        data: { labels: names, datasets: [
          { data: names.map((n) => d.statuses[n]), backgroundColor: names.map((n) => STATUS_COLORS[n] || "#999") },
        ] },
        options: { plugins: { legend: { position: "right" } } },
      };
    },
    licenses(d) {
      return {
        type: "doughnut",
        data: { labels: d.licenses.map((x) => x.label), datasets: [
          { data: d.licenses.map((x) => x.count), backgroundColor: d.licenses.map((_, i) => color(i)) },
        ] },
        options: { plugins: { legend: { position: "right" } } },
      };
    },
    darkfleet(d) {
      const f = d.dark_fleet;
      return {
        type: "line",
        data: { labels: f.labels, datasets: [
          { label: "active", data: f.active, borderColor: color(0), tension: 0.25, pointRadius: 0 },
          { label: "opted out", data: f.opt_outs, borderColor: "#44403c", backgroundColor: "rgba(68,64,60,0.25)", fill: true, tension: 0.25, pointRadius: 0 },
        ] },
        options: { interaction: { mode: "index", intersect: false },
          scales: { x: timeAxis(f.labels), y: { beginAtZero: true, ticks: { precision: 0 } } } },
      };
    },
    countries(d) {
      return {
        type: "bar",
        data: { labels: d.countries.map((x) => x.label), datasets: [
          { label: "active instances", data: d.countries.map((x) => x.count), backgroundColor: color(5, 0.8) },
        ] },
        options: { indexAxis: "y", plugins: { legend: { display: false } },
          scales: { x: { beginAtZero: true, ticks: { precision: 0 } }, y: { ticks: { autoSkip: false } } } },
      };
    },
    platforms(d) {
      const rows = d.editions.map((x) => ({ label: `edition ${x.label}`, count: x.count }))
        .concat(d.os.map((x) => ({ label: `os ${x.label}`, count: x.count })));
      return {
        type: "bar",
        data: { labels: rows.map((r) => r.label), datasets: [
          { label: "active instances", data: rows.map((r) => r.count), backgroundColor: rows.map((r, i) => color(i + 5, 0.8)) },
        ] },
        options: { indexAxis: "y", plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, ticks: { precision: 0 } } } },
      };
    },
  };

  function draw() {
    const data = JSON.parse(document.getElementById("fleet-data").textContent);
    const style = getComputedStyle(document.body);
    Chart.defaults.color = style.getPropertyValue("--body-quiet-color").trim() || "#666";
    Chart.defaults.borderColor = style.getPropertyValue("--hairline-color").trim() || "#ddd";
    Chart.defaults.maintainAspectRatio = false;
    Chart.defaults.animation = false;
    document.querySelectorAll("canvas[data-chart]").forEach((canvas) => {
      const build = builders[canvas.dataset.chart];
      if (build) new Chart(canvas, build(data));
    });
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
