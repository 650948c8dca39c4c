// The front page: the published plan's Gantt (the plan the floor follows), the newest
// plan not published beside it, solves under way (refreshing), new plan, publish,
// exports, order upload, recent plans with their figures and a compare action.
"use strict";

(function main() {
  const h = rp.h;
  const $ = (id) => document.getElementById(id);
  let shown = null;   // job id whose Gantt is mounted
  let timer = 0;
  let lastActive = 0;
  const ticked = new Set();  // plans ticked for comparing
  let recentById = new Map();

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
      h("strong", {}, `${job.kind === "reschedule" ? "Rescheduling" : "Solving"} ` +
        planName(job)), bar, h("span", {}, facts.join(" · ")), cancel);
  }

  function publishButton(job, msg) {
    const pub = job.published;
    return h("button", { type: "button", class: "publish", "data-job": job.id,
      disabled: pub || !job.valid,
      title: job.valid ? "make this the plan the floor follows"
        : "only a validated plan can be published",
      onclick: async () => {
        try {
          await rp.api(`/schedules/${encodeURIComponent(job.id)}/publish`, { method: "POST" });
          rp.show(msg, h("div", { class: "msg ok" }, `Plan ${planName(job)} published.`));
        } catch (err) {
          rp.show(msg, rp.errorBox(err));
        }
        refresh();
      } }, pub ? "Published" : "Publish");
  }

  function planActions(job, published) {
    const id = job.id;
    const csv = h("button", { type: "button", id: "export-csv" }, "Export CSV");
    const xlsx = h("button", { type: "button", id: "export-xlsx" }, "Export Excel");
    exportButtons(id, csv, xlsx, $("plan-msg"));
    const pub = publishButton(job, $("plan-msg"));
    pub.id = "publish";
    return [
      h("a", { class: "button", href: `/schedules/${encodeURIComponent(id)}/view` },
        "Open full view"),
      published && published !== id
        ? h("a", { class: "button", href: compareHref(published, id) }, "Compare with published")
        : null,
      pub, csv, xlsx,
    ].filter(Boolean);
  }

  // the change of one figure from the published plan to the newer one
  function delta(before, after, better, fmt) {
    if (before === undefined || before === null || after === undefined || after === null) {
      return h("span", {}, fmt(after));
    }
    const d = after - before;
    const cls = d === 0 ? "same" : (better(d) ? "better" : "worse");
    return h("span", {}, fmt(after), " ",
      h("span", { class: `delta ${cls}` }, d === 0 ? "(same)"
        : `(${d > 0 ? "+" : "−"}${fmt(Math.abs(d))})`));
  }

  function nextCard(ov) {
    const card = $("next-plan");
    const next = ov.unpublished;
    if (!ov.plan || !next) {
      card.hidden = true;
      card.replaceChildren();
      return;
    }
    const a = ov.plan.kpis || {}, b = next.kpis || {};
    const msg = h("div", {});
    card.hidden = false;
    card.dataset.job = next.id;
    rp.show(card,
      h("div", { class: "plan-head" },
        h("h2", {}, `Newer ${planKind(next.kind)}, not published: ${planName(next)}`),
        h("span", { class: "facts" }, `created ${rp.fmtIso(next.created_at)}`),
        h("span", { class: "actions" },
          h("a", { class: "button", id: "next-compare", href: compareHref(ov.plan.id, next.id) },
            "Compare with published"),
          h("a", { class: "button", href: `/schedules/${encodeURIComponent(next.id)}/view` },
            "Open"),
          publishButton(next, msg))),
      h("p", { class: "next-kpis" },
        "On time ", delta(a.on_time, b.on_time, (d) => d > 0, (v) => String(v ?? "–")),
        b.orders !== undefined ? ` of ${b.orders}` : "",
        " · weighted tardiness ",
        delta(a.total_weighted_tardiness_min, b.total_weighted_tardiness_min, (d) => d < 0,
          (v) => rp.fmtWeighted(v, false)),
        ` · against the published ${planName(ov.plan)}`),
      msg);
  }

  function sampleNote(shift) {
    const box = $("sample-note");
    if (!shift || !shift.days) {
      box.hidden = true;
      return;
    }
    const n = Math.abs(shift.days);
    box.hidden = false;
    rp.show(box, h("div", { class: "msg" },
      `The sample was loaded with its dates moved ${n} days ${shift.days > 0 ? "later" : "earlier"} ` +
      `(${n / 7} week${n === 7 ? "" : "s"}, so weekdays stay the same) to start near today: ` +
      "the file starts " +
      `${rp.fmtIso(shift.file_start)}, the loaded sample ${rp.fmtIso(shift.start)}. ` +
      "Moved: the horizon start, due dates, releases, downtime and holidays."));
  }

  function onTime(k) {
    return k && k.orders !== undefined ? `${k.on_time}/${k.orders}` : "";
  }

  function recentTable(jobs, published) {
    if (!jobs.length) return h("p", {}, "No plans yet.");
    recentById = new Map(jobs.map((j) => [j.id, j]));
    for (const id of [...ticked]) if (!recentById.has(id)) ticked.delete(id);
    const cols = ["", "Kind", "Name", "Created", "Status", "Objective", "On time",
      "Weighted tardiness (weighted min)", "Published", ""];
    return h("table", { class: "list", id: "recent-table" },
      h("thead", {}, h("tr", {}, cols.map((c) => h("th", {}, c)))),
      h("tbody", {}, jobs.map((j) => {
        const done = j.status === "done" && j.kpis;
        const k = j.kpis || {};
        const box = h("input", { type: "checkbox", class: "tick", "data-job": j.id,
          disabled: !done, checked: ticked.has(j.id), title: "tick two plans to compare",
          onchange: (e) => {
            if (e.target.checked) ticked.add(j.id); else ticked.delete(j.id);
            updateCompare();
          } });
        return h("tr", { "data-job": j.id },
          h("td", {}, box),
          h("td", {}, planKind(j.kind)),
          h("td", { title: j.id }, planName(j)),
          h("td", {}, rp.fmtIso(j.created_at)),
          h("td", {}, j.status + (j.error ? ` — ${j.error}` : "") +
            (j.schedule_status && j.schedule_status !== "OPTIMAL" &&
              j.schedule_status !== "FEASIBLE" ? ` (${j.schedule_status})` : "")),
          h("td", {}, j.objective || (j.params || {}).objective || ""),
          h("td", { class: "num" }, onTime(j.kpis)),
          h("td", { class: "num" }, done && k.total_weighted_tardiness_min !== undefined
            ? Math.round(k.total_weighted_tardiness_min).toLocaleString("en-US") : ""),
          h("td", {}, published === j.id ? h("span", { class: "badge ok" }, "published") : ""),
          h("td", { class: "row-actions" },
            ["done", "cancelled"].includes(j.status)
              ? h("a", { href: `/schedules/${encodeURIComponent(j.id)}/view` }, "view") : null,
            done && published && published !== j.id
              ? h("a", { href: compareHref(published, j.id), class: "compare-pub" },
                "compare with published") : null));
      })));
  }

  function updateCompare() {
    const btn = $("compare-selected");
    btn.disabled = ticked.size !== 2;
    btn.textContent = ticked.size === 2 ? "Compare the two ticked"
      : `Compare: tick two plans (${ticked.size} ticked)`;
  }

  $("compare-selected").addEventListener("click", () => {
    if (ticked.size !== 2) return;
    const [a, b] = [...ticked].map((id) => recentById.get(id))
      .sort((x, y) => (x.created_at < y.created_at ? -1 : 1));
    location.href = compareHref(a.id, b.id);
  });

  // what needs a look in the published plan, as chips linking to the exceptions page
  async function exceptionChips(published) {
    const box = $("plan-exceptions");
    if (!published) {
      box.hidden = true;
      return;
    }
    let body;
    try {
      body = await rp.api("/exceptions");
    } catch (err) {
      box.hidden = true;
      return;
    }
    const labels = { late: "late", unplanned: "left out", at_risk: "at risk",
      released: "released steps", idle: "idle resources" };
    const kinds = Object.keys(labels).filter((k) => body.counts[k]);
    box.hidden = false;
    rp.show(box, h("span", { class: "facts" }, kinds.length ? "Needs a look:" : "Nothing needs a look."),
      ...kinds.map((k) => h("a", { class: `chip ${k}`, href: `/ui/exceptions#exc-${k}` },
        `${body.counts[k]} ${labels[k]}`)));
  }

  let panel = null;  // the explanation panel of the plan shown (one, kept across plans)

  function mountGantt(id, published) {
    shown = id;
    exceptionChips(published);
    const explainOrder = (order) => { if (panel) panel.open(order); };
    const g = new RackGantt.Gantt($("gantt"), { jobId: id,
      onLoad: (data) => { $("plan-facts").textContent = planFacts(data); },
      onBarClick: (bar) => explainOrder(bar.order),
      onLateClick: (order) => explainOrder(order) });
    if (panel === null) {
      panel = new GanttExplain.Panel($("explain-panel"), g, id);
    } else {
      panel.close();
      panel.gantt = g;
      panel.jobId = id;
    }
    window.rackGantt = g;
    window.rackExplain = panel;
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
    sampleNote(ov.sample_shift);
    rp.show($("active"), ...ov.active.map(progressLine));
    rp.show($("recent"), recentTable(ov.recent, ov.published));
    updateCompare();
    nextCard(ov);
    // the plan the floor follows; before any publish, the newest plan
    const main = ov.plan || ov.unpublished || ov.latest;
    if (main) {
      $("plan-title").textContent = ov.plan
        ? `Published plan: ${planName(main)}`
        : `Newest ${planKind(main.kind)}: ${planName(main)} — not published yet`;
      $("plan-title").title = main.id;
      rp.show($("plan-actions"), ...planActions(main, ov.published));
      if (main.id !== shown) mountGantt(main.id, ov.published);
    } else if (!ov.active.length) {
      $("plan-title").textContent = "No plan yet";
      $("plan-facts").textContent = "Press “New plan” to make one.";
    } else {
      $("plan-title").textContent = "No plan yet";
      $("plan-facts").textContent = "The first plan is being made…";
    }
    lastActive = ov.active.length;
    timer = setTimeout(refresh, lastActive ? 1500 : 15000);
  }

  $("solve-form").addEventListener("submit", async (e) => {
    e.preventDefault();
    const limit = Number($("solve-limit").value);
    const name = $("solve-name").value.trim();
    rp.show($("solve-msg"), h("div", { class: "msg" }, "Starting…"));
    try {
      const body = { objective: $("solve-objective").value, time_limit: limit };
      if (name) body.name = name;
      const job = await rp.api("/schedules", { method: "POST", json: body });
      rp.show($("solve-msg"), h("div", { class: "msg ok" },
        `Plan ${job.id || ""} queued; progress shows above.`));
    } catch (err) {
      rp.show($("solve-msg"), rp.errorBox(err));
    }
    refresh();
  });

  refresh();
})();
