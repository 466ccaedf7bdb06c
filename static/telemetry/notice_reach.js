/* The notice form's live reach: while staff choose a product and type a version range, ask
   reach/ how many instances it reaches (debounced), before anything is saved or published. */
(function () {
  "use strict";
  function start() {
    const box = document.getElementById("notice-reach");
    const form = box && box.closest("form");
    if (!form) return;
    const out = box.querySelector("[data-testid=reach-live]");
    const field = (name) => form.querySelector(`[name=${name}]`);
    let timer = null;
    let asked = 0;
    function update() {
      const product = field("product") && field("product").value;
      if (!product) { out.textContent = "Choose a product to see which instances this range reaches."; return; }
      const params = new URLSearchParams({ product, min_version: field("min_version").value, max_version: field("max_version").value });
      const ticket = ++asked;
      fetch(`${box.dataset.reachUrl}?${params}`, { credentials: "same-origin" })
        .then((r) => r.json())
        .then((reach) => {
          if (ticket !== asked) return;  // an older answer arriving late
          if (reach.error) { out.textContent = "This range cannot be read."; return; }
          const versions = reach.versions.map((v) => `${v.version || "unknown"} (${v.alive})`).join(", ");
          out.textContent = `${reach.alive} instance(s) still pinging are in this range (${reach.total} including dead ones)`
            + (versions ? `: ${versions}.` : ".");
        })
        .catch(() => { out.textContent = "The reach could not be computed just now."; });
    }
    const later = () => { window.clearTimeout(timer); timer = window.setTimeout(update, 250); };
    ["product", "min_version", "max_version"].forEach((name) => {
      const input = field(name);
      if (input) { input.addEventListener("input", later); input.addEventListener("change", later); }
    });
    update();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
