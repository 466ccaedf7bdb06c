/* Draws the fleet dashboard's charts from the JSON the server embedded (#fleet-data).
   Every canvas names its chart in data-chart; a canvas whose chart fails to build stays blank,
   which the browser tests detect through Chart.getChart(canvas).
   Drill-down: a click on a segment opens the admin list it summarises (URLs from #fleet-root).
   The bucket holding today is drawn dashed (partial); the previous period is a faint line;
   releases are vertical markers. live.json is polled: live tiles update, an empty product's page
   reloads when its first ping arrives, and a queued rebuild reloads the page once done. */
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

  const root = () => document.getElementById("fleet-root");

  function listUrl(kind, params) {
    const base = root().dataset[`${kind}Url`];
    const query = Object.entries(params).map(([k, v]) => `&${encodeURIComponent(k)}=${encodeURIComponent(v)}`).join("");
    return base + query;
  }

  // The chart's click handler: `target(datasetIndex, index)` names the list to open, or null.
  function drill(target) {
    return {
      onClick: (event, elements) => {
        if (!elements.length) return;
        const url = target(elements[0].datasetIndex, elements[0].index);
        if (url) window.location.assign(url);
      },
      onHover: (event, elements) => {
        event.native.target.style.cursor = elements.length && target(elements[0].datasetIndex, elements[0].index) ? "pointer" : "default";
      },
    };
  }

  const BLANK = "(none)";

  // Dashed segment into the last point when it is a partial bucket (today).
  function partialSegment(d, length) {
    return { borderDash: (ctx) => (d.partial && ctx.p1DataIndex === length - 1 ? [6, 4] : undefined) };
  }

  // Vertical lines at the buckets where a release came out, labelled with its version.
  const releaseMarkers = {
    id: "releaseMarkers",
    afterDatasetsDraw(chart, args, options) {
      const releases = options.releases || [];
      if (!releases.length) return;
      const { ctx, chartArea, scales } = chart;
      ctx.save();
      ctx.strokeStyle = options.color || "#888";
      ctx.fillStyle = options.color || "#888";
      ctx.setLineDash([2, 3]);
      ctx.font = "11px sans-serif";
      releases.forEach((r) => {
        const index = chart.data.labels.indexOf(r.label);
        if (index < 0) return;
        const x = scales.x.getPixelForValue(index);
        ctx.beginPath();
        ctx.moveTo(x, chartArea.top);
        ctx.lineTo(x, chartArea.bottom);
        ctx.stroke();
        ctx.fillText(r.version, x + 3, chartArea.top + 10);
      });
      ctx.restore();
    },
  };

  function timeAxis(labels) {
    return { ticks: { maxTicksLimit: 12, callback: (v) => labels[v].slice(5) }, grid: { display: false } };
  }

  const builders = {
    activity(d) {
      const n = d.activity.labels.length;
      return {
        type: "line",
        data: { labels: d.activity.labels, datasets: [
          { label: "active", data: d.activity.active_instances, borderColor: color(0), backgroundColor: color(0, 0.15), fill: true, tension: 0.25, pointRadius: 0, segment: partialSegment(d, n) },
          { label: "new", data: d.activity.new_instances, borderColor: color(1), tension: 0.25, pointRadius: 0, segment: partialSegment(d, n) },
          { label: "active, previous period", data: d.activity.previous_active, borderColor: "rgba(120,120,120,0.35)", borderWidth: 1.5, tension: 0.25, pointRadius: 0 },
        ] },
        options: { scales: { x: timeAxis(d.activity.labels), y: { beginAtZero: true, ticks: { precision: 0 } } },
          plugins: { releaseMarkers: { releases: d.releases } },
          ...drill((ds) => (ds === 0 ? listUrl("instances", { status__in: "new,active" }) : null)) },
        plugins: [releaseMarkers],
      };
    },
    versions(d) {
      const n = d.versions.labels.length;
      return {
        type: "line",
        data: { labels: d.versions.labels, datasets: d.versions.datasets.map((s, i) => ({
          label: s.label, data: s.data, fill: true, pointRadius: 0, pointHitRadius: 6, tension: 0.2, segment: partialSegment(d, n),
          borderColor: s.label === "other" ? "#a8a29e" : color(i), backgroundColor: s.label === "other" ? "rgba(168,162,158,0.6)" : color(i, 0.75),
        })) },
        options: { interaction: { mode: "nearest", axis: "xy", intersect: false },
          scales: { x: timeAxis(d.versions.labels), y: { stacked: true, beginAtZero: true, ticks: { precision: 0 } } },
          plugins: { releaseMarkers: { releases: d.releases } },
          ...drill((ds) => {
            const version = d.versions.datasets[ds].version;
            return version && version !== "other" ? listUrl("instances", { version }) : null;
          }) },
        plugins: [releaseMarkers],
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
        options: { indexAxis: "y", plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, ticks: { precision: 0 } } },
          ...drill((ds, i) => listUrl("installations", { status__exact: ["started", "succeeded", "failed", "support"][i] })) },
      };
    },
    events(d) {
      return {
        type: "bar",
        data: { labels: d.events.map((e) => e.name), datasets: [
          { label: "events", data: d.events.map((e) => e.count), backgroundColor: color(3, 0.8) },
        ] },
        // Long names are cut on the axis (a phone would leave no room for the bars); the tooltip has them whole.
        options: { indexAxis: "y", plugins: { legend: { display: false }, tooltip: { callbacks: { title: (items) => d.events[items[0].dataIndex].name } } },
          scales: { x: { beginAtZero: true, ticks: { precision: 0 } },
            y: { ticks: { callback(v) {
              const name = d.events[v].name;
              const max = this.chart.width < 480 ? 14 : 22;  // a phone keeps room for the bars
              return name.length > max ? `${name.slice(0, max - 1)}…` : name;
            } } } },
          ...drill((ds, i) => listUrl("events", { q: d.events[i].name })) },
      };
    },
    statuses(d) {
      const names = Object.keys(d.statuses);
      return {
        type: "doughnut",
        data: { labels: names, datasets: [
          { data: names.map((n) => d.statuses[n]), backgroundColor: names.map((n) => STATUS_COLORS[n] || "#999") },
        ] },
        options: { plugins: { legend: { position: "right" } }, ...drill((ds, i) => listUrl("instances", { status__exact: names[i] })) },
      };
    },
    licenses(d) {
      return {
        type: "doughnut",
        data: { labels: d.licenses.map((x) => x.label), datasets: [
          { data: d.licenses.map((x) => x.count), backgroundColor: d.licenses.map((_, i) => color(i)) },
        ] },
        options: { plugins: { legend: { position: "right" } },
          ...drill((ds, i) => listUrl("instances", { license_type: d.licenses[i].key || BLANK })) },
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
          scales: { x: { beginAtZero: true, ticks: { precision: 0 } }, y: { ticks: { autoSkip: false } } },
          // "other" sums the countries past the top ones: it has no list of its own.
          ...drill((ds, i) => (d.countries[i].key === null ? null : listUrl("instances", { country: d.countries[i].key || BLANK }))) },
      };
    },
    platforms(d) {
      const rows = d.editions.map((x) => ({ label: `edition ${x.label}`, count: x.count, filter: { edition: x.key || BLANK } }))
        .concat(d.os.map((x) => ({ label: `os ${x.label}`, count: x.count, filter: { os: x.key || BLANK } })));
      return {
        type: "bar",
        data: { labels: rows.map((r) => r.label), datasets: [
          { label: "active instances", data: rows.map((r) => r.count), backgroundColor: rows.map((r, i) => color(i + 5, 0.8)) },
        ] },
        options: { indexAxis: "y", plugins: { legend: { display: false } }, scales: { x: { beginAtZero: true, ticks: { precision: 0 } } },
          ...drill((ds, i) => listUrl("instances", rows[i].filter)) },
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

  // Live figures: the tiles marked data-live follow live.json; the page reloads when an empty
  // product gets its first instance or when a queued rebuild has produced newer rollups.
  function poll() {
    const el = root();
    if (!el || !el.dataset.liveUrl) return;
    const every = el.dataset.empty === "1" ? 3000 : 30000;
    const tick = () => fetch(el.dataset.liveUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then((r) => (r.ok ? r.json() : null))
      .then((live) => {
        if (!live) return;
        document.querySelectorAll("[data-live]").forEach((node) => { node.textContent = live[node.dataset.live]; });
        if (el.dataset.empty === "1" && live.instances > 0) window.location.reload();
        else if (el.dataset.rebuildPending === "1" && live.rebuild_done) window.location.reload();
      })
      .catch(() => {})
      .finally(() => window.setTimeout(tick, every));
    window.setTimeout(tick, every);
  }

  function start() {
    if (document.getElementById("fleet-data")) draw();
    poll();
  }

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
