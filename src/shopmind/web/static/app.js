// shopmind dashboard: the little script the pages need. No framework, no external code.
"use strict";

// Follow running jobs: every element with data-job is refreshed from /jobs/<id>.json
// until the job ends; then the page reloads to show the result.
function followJobs() {
  const rows = Array.from(document.querySelectorAll("[data-job]")).filter(
    (el) => el.dataset.status === "queued" || el.dataset.status === "running");
  if (rows.length === 0) return;
  const tick = async () => {
    let ended = false;
    for (const el of rows) {
      if (el.dataset.status !== "queued" && el.dataset.status !== "running") continue;
      try {
        const res = await fetch(`/jobs/${el.dataset.job}.json`, {
          headers: { Accept: "application/json" }, credentials: "same-origin" });
        if (!res.ok) continue;
        const job = await res.json();
        el.dataset.status = job.status;
        const status = el.querySelector('[data-field="status"]');
        if (status) {
          status.className = `badge ${job.status}`;
          let labels = {};
          try { labels = JSON.parse(el.dataset.labels || "{}"); } catch (e) { labels = {}; }
          status.textContent = labels[job.status] || job.status;
        }
        const bar = el.querySelector("progress");
        if (bar && job.fraction !== null) bar.value = job.fraction;
        const text = el.querySelector('[data-field="progress"]');
        if (text) text.textContent = job.progress_total
          ? `${job.progress_done.toLocaleString()} / ${job.progress_total.toLocaleString()}`
          : job.progress_done.toLocaleString();
        const stage = el.querySelector('[data-field="stage"]');
        if (stage) stage.textContent = job.stage;
        if (job.status !== "queued" && job.status !== "running") ended = true;
      } catch (e) { /* network hiccup: try again next tick */ }
    }
    if (ended) { window.location.reload(); return; }
    window.setTimeout(tick, 1000);
  };
  window.setTimeout(tick, 1000);
}

// Forms that ask before they act: <form data-confirm="Really?">.
function confirmForms() {
  for (const form of document.querySelectorAll("form[data-confirm]")) {
    form.addEventListener("submit", (event) => {
      if (!window.confirm(form.dataset.confirm)) event.preventDefault();
    });
  }
}

// A <select data-autosubmit> submits its form when changed (the language switch).
function autosubmit() {
  for (const select of document.querySelectorAll("select[data-autosubmit]")) {
    select.addEventListener("change", () => select.form.submit());
  }
}

document.addEventListener("DOMContentLoaded", () => {
  followJobs();
  confirmForms();
  autosubmit();
});
