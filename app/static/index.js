// The front page: the latest plan's Gantt, solves under way (refreshing), new plan,
// publish, exports, order upload, recent plans.
"use strict";

(function main() {
  const h = rp.h;
  const $ = (id) => document.getElementById(id);
  let shown = null;   // job id whose Gantt is mounted
  let timer = 0;
  let lastActive = 0;

  rp.keyBar($("key-slot"));
  rp.show($("upload"), uploadForm(() => refresh()));

  function progressLine(job) {
    const p = job.progress || {};
    const limit = Number((job.params || {}).time_limit) || 0;
    const elapsed = Number(p.elapsed) || 0;
    const bar = h("progress", { max: String(limit || 1),
      value: String(limit ? Math.min(elapsed, limit) : 0) });
    const facts = [`${job.status}`];
    if (p.phase) facts.push(p.phase);
    if (p.elapsed !== undefined) facts.push(`${elapsed.toFixed(1)} s` +
      (limit ? ` of ${limit} s` : ""));
    if (p.objective !== undefined && p.objective !== null) facts.push(`best ${p.objective}`);
    if (p.bound !== undefined && p.bound !== null) facts.push(`bound ${p.bound}`);
    const cancel = h("button", { type: "button", class: "cancel", onclick: async () => {
      try {
        await rp.api(`/schedules/${encodeURIComponent(job.id)}`, { method: "DELETE" });
      } catch (err) {
        rp.show($("solve-msg"), rp.errorBox(err));
      }
      refresh();
    } }, "Stop");
    return h("div", { class: "progress-line", "data-job": job.id },
      h("strong", {}, `Solving ${job.id}`), bar, h("span", {}, facts.join(" · ")), cancel);
  }

  function planActions(latest, published) {
    const id = latest.id;
    const isPub = published === id;
    const pub = h("button", { type: "button", id: "publish", disabled: isPub || !latest.valid,
      title: latest.valid ? "make this the plan the floor follows" : "only a validated plan " +
        "can be published",
      onclick: async () => {
        try {
          await rp.api(`/schedules/${encodeURIComponent(id)}/publish`, { method: "POST" });
          rp.show($("plan-msg"), h("div", { class: "msg ok" }, `Plan ${id} published.`));
        } catch (err) {
          rp.show($("plan-msg"), rp.errorBox(err));
        }
        refresh();
      } }, isPub ? "Published" : "Publish");
    const csv = h("button", { type: "button", id: "export-csv" }, "Export CSV");
    const xlsx = h("button", { type: "button", id: "export-xlsx" }, "Export Excel");
    exportButtons(id, csv, xlsx, $("plan-msg"));
    return [
      h("a", { class: "button", href: `/schedules/${encodeURIComponent(id)}/view` },
        "Open full view"),
      pub, csv, xlsx,
    ];
  }

  function recentTable(jobs, published) {
    if (!jobs.length) return h("p", {}, "No plans yet.");
    return h("table", { class: "list", id: "recent-table" },
      h("thead", {}, h("tr", {}, ["Plan", "Status", "Created", "Finished", "Valid", ""]
        .map((c) => h("th", {}, c)))),
      h("tbody", {}, jobs.map((j) => h("tr", {},
        h("td", {}, j.id, published === j.id ? h("span", { class: "badge ok" }, "published")
          : null),
        h("td", {}, j.status + (j.error ? ` — ${j.error}` : "")),
        h("td", {}, j.created_at || ""),
        h("td", {}, j.finished_at || ""),
        h("td", {}, j.valid ? "yes" : "no"),
        h("td", {}, ["done", "cancelled"].includes(j.status)
          ? h("a", { href: `/schedules/${encodeURIComponent(j.id)}/view` }, "view") : "")))));
  }

  function mountGantt(id) {
    shown = id;
    const g = new RackGantt.Gantt($("gantt"), { jobId: id,
      onLoad: (data) => { $("plan-facts").textContent = `${id} · ${planFacts(data)}`; } });
    window.rackGantt = g;
    g.reload();
  }

  async function refresh() {
    clearTimeout(timer);
    let ov;
    try {
      ov = await rp.api("/overview");
    } catch (err) {
      const box = rp.errorBox(err);
      box.classList.add("overview-error");
      rp.show($("plan-msg"), box);
      if (err.status !== 401 && err.status !== 403) timer = setTimeout(refresh, 10000);
      return;
    }
    for (const el of $("plan-msg").querySelectorAll(".overview-error")) el.remove();
    rp.show($("active"), ...ov.active.map(progressLine));
    rp.show($("recent"), recentTable(ov.recent, ov.published));
    if (ov.latest) {
      rp.show($("plan-actions"), ...planActions(ov.latest, ov.published));
      if (ov.latest.id !== shown) mountGantt(ov.latest.id);
    } else if (!ov.active.length) {
      $("plan-facts").textContent = "No plan yet: press “New plan” to make one.";
    } else {
      $("plan-facts").textContent = "The first plan is being made…";
    }
    lastActive = ov.active.length;
    timer = setTimeout(refresh, lastActive ? 1500 : 15000);
  }

  $("solve-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const limit = Number($("solve-limit").value);
    rp.show($("solve-msg"), h("div", { class: "msg" }, "Starting…"));
    try {
      const job = await rp.api("/schedules", { method: "POST",
        json: { objective: $("solve-objective").value, time_limit: limit } });
      rp.show($("solve-msg"), h("div", { class: "msg ok" },
        `Plan ${job.id || ""} queued; progress shows above.`));
    } catch (err) {
      rp.show($("solve-msg"), rp.errorBox(err));
    }
    refresh();
  });

  refresh();
})();
