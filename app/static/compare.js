// The compare page: /ui/compare?a=<before>&b=<after>. Both plans' key figures side by
// side, the orders whose delivery changed (better or worse), the moved steps by kind
// (GET /schedules/{a}/diff/{b}), a reschedule's kept and released frozen steps, and the
// Gantt of the new plan with the old plan's bars passed as ghosts.
"use strict";

(function main() {
  const h = rp.h;
  const $ = (id) => document.getElementById(id);
  const STEP_ROWS = 300;  // rows listed per kind of change (the counts are complete)
  rp.keyBar($("key-slot"));
  const params = new URLSearchParams(location.search);
  let a = params.get("a") || "";
  let b = params.get("b") || "";

  const enc = encodeURIComponent;
  const view = (id, q) => `/schedules/${enc(id)}/view` + (q ? `?${new URLSearchParams(q)}` : "");

  async function fillPicker() {
    let page;
    try {
      page = await rp.api("/schedules?status=done&limit=100");
    } catch (err) {
      rp.show($("cmp-msg"), rp.errorBox(err));
      return [];
    }
    const label = (j) => `${planKind(j.kind)} ${j.id.slice(0, 8)} · ${rp.fmtIso(j.created_at)}` +
      (j.published ? " · published" : "");
    for (const [sel, current] of [[$("pick-a"), a], [$("pick-b"), b]]) {
      sel.replaceChildren(h("option", { value: "" }, "choose a plan"),
        ...page.items.map((j) => h("option", { value: j.id, selected: j.id === current },
          label(j))));
    }
    return page.items;
  }

  $("pick").addEventListener("submit", (e) => {
    e.preventDefault();
    const pa = $("pick-a").value, pb = $("pick-b").value;
    if (pa && pb) location.href = compareHref(pa, pb);
  });
  $("pick-swap").addEventListener("click", () => {
    const pa = $("pick-a").value;
    $("pick-a").value = $("pick-b").value;
    $("pick-b").value = pa;
  });

  function kpiTable(ja, jb) {
    const sa = ja.schedule || {}, sb = jb.schedule || {};
    const ka = sa.kpis || {}, kb = sb.kpis || {};
    const diffCell = (x, y, better, fmt) => {
      if (typeof x !== "number" || typeof y !== "number") return h("td", {}, "");
      const d = y - x;
      if (d === 0) return h("td", { class: "delta same" }, "same");
      return h("td", { class: `delta ${better(d) ? "better" : "worse"}` },
        `${d > 0 ? "+" : "−"}${fmt(Math.abs(d))}`);
    };
    const num = (v) => (typeof v === "number" ? Math.round(v).toLocaleString("en-US") : "–");
    const rows = [
      ["Kind", planKind(ja.kind), planKind(jb.kind), null],
      ["Name", (ja.problem_name || ""), (jb.problem_name || ""), null],
      ["Created", rp.fmtIso(ja.created_at), rp.fmtIso(jb.created_at), null],
      ["Status", sa.status || ja.status, sb.status || jb.status, null],
      ["Objective", sa.objective || "", sb.objective || "", null],
      ["Orders on time", `${ka.on_time ?? "–"} of ${ka.orders ?? "–"}`,
        `${kb.on_time ?? "–"} of ${kb.orders ?? "–"}`,
        diffCell(ka.on_time, kb.on_time, (d) => d > 0, String)],
      ["Weighted tardiness (weighted min)", num(ka.total_weighted_tardiness_min),
        num(kb.total_weighted_tardiness_min),
        diffCell(ka.total_weighted_tardiness_min, kb.total_weighted_tardiness_min,
          (d) => d < 0, num)],
      ["Makespan (from each plan's start)", ka.makespan_min !== undefined ? rp.fmtDuration(ka.makespan_min) : "–",
        kb.makespan_min !== undefined ? rp.fmtDuration(kb.makespan_min) : "–",
        diffCell(ka.makespan_min, kb.makespan_min, (d) => d < 0, rp.fmtDuration)],
      ["Published", ja.published ? "yes" : "no", jb.published ? "yes" : "no", null],
    ];
    return h("table", { class: "list", id: "kpi-table" },
      h("thead", {}, h("tr", {}, h("th", {}, ""),
        h("th", {}, h("a", { href: view(ja.id) }, "Before")),
        h("th", {}, h("a", { href: view(jb.id) }, "After")), h("th", {}, "Change"))),
      h("tbody", {}, rows.map(([name, x, y, d]) => h("tr", {},
        h("th", {}, name), h("td", {}, x), h("td", {}, y), d || h("td", {}, "")))));
  }

  function summary(s) {
    const line = (label, n, id) => h("tr", {}, h("th", {}, label),
      h("td", { class: "num", id }, n.toLocaleString("en-US")));
    return h("table", { class: "list", id: "moved-table" }, h("tbody", {},
      line("Steps in both plans", s.steps_compared),
      line("Moved to another site", s.site_changes, "moved-site"),
      line("Moved to another resource (same site)", s.resource_changes, "moved-resource"),
      line("Moved in time (same resource)", s.time_shifts, "moved-time"),
      h("tr", {}, h("th", {}, "Start shift (mean / largest)"), h("td", { class: "num" },
        `${rp.fmtDuration(s.mean_abs_shift_min)} / ${rp.fmtDuration(s.max_abs_shift_min)}`)),
      line("Steps only in the new plan", s.steps_added),
      line("Steps only in the old plan", s.steps_removed),
      line("Orders delivered at another time", s.orders_delivery_changed),
      line("Orders only in the new plan", s.orders_added),
      line("Orders only in the old plan", s.orders_removed)));
  }

  // better: less tardiness, or the same tardiness delivered earlier
  function verdict(o) {
    const ta = o.tardiness_before ?? 0, tb = o.tardiness_after ?? 0;
    if (tb !== ta) return tb < ta ? "better" : "worse";
    if (o.change_min) return o.change_min < 0 ? "better" : "worse";
    return "same";
  }

  function ordersTable(orders) {
    const changed = orders.filter((o) => o.change === "delivery");
    const others = orders.filter((o) => o.change !== "delivery");
    $("cmp-orders-title").textContent =
      `Orders delivered at another time (${changed.length})`;
    if (!changed.length && !others.length) {
      return h("p", { class: "facts" }, "Every order is delivered when it was.");
    }
    const rank = { worse: 0, better: 1, same: 2 };
    changed.sort((x, y) => rank[verdict(x)] - rank[verdict(y)] ||
      Math.abs(y.change_min) - Math.abs(x.change_min) || (x.id < y.id ? -1 : 1));
    const late = (t) => (t ? `late ${rp.fmtDuration(t)}` : "on time");
    return h("div", {},
      h("table", { class: "list", id: "orders-changed" },
        h("thead", {}, h("tr", {}, ["Order", "", "Delivery before", "Delivery after", "Change",
          "Before", "After"].map((c) => h("th", {}, c)))),
        h("tbody", {}, changed.map((o) => {
          const v = verdict(o);
          return h("tr", { "data-order": o.id, class: `verdict-${v}` },
            h("td", {}, h("a", { href: view(b, { order: o.id }) }, o.id)),
            h("td", {}, h("span", { class: `badge ${v}` }, v)),
            h("td", {}, rp.fmtIso(o.delivery_before)),
            h("td", {}, rp.fmtIso(o.delivery_after)),
            h("td", { class: `delta ${v}` }, rp.fmtShift(o.change_min)),
            h("td", {}, late(o.tardiness_before)),
            h("td", {}, late(o.tardiness_after)));
        }))),
      others.length ? h("p", {}, others.map((o) =>
        `${o.id} ${o.change === "added" ? "is only in the new plan" : "is only in the old plan"}`)
        .join("; ")) : null);
  }

  function place(p) {
    return p ? `${p.resource} (${p.site}) ${rp.fmtIso(p.start)}` : "–";
  }

  function stepsSection(steps) {
    const kinds = [["site", "Moved to another site"], ["resource", "Moved to another resource"],
      ["time", "Moved in time"], ["added", "Only in the new plan"],
      ["removed", "Only in the old plan"]];
    const parts = [];
    for (const [kind, title] of kinds) {
      const rows = steps.filter((s) => s.change === kind);
      if (!rows.length) continue;
      parts.push(h("details", { class: "steps", "data-change": kind, open: rows.length <= 15 },
        h("summary", {}, `${title} (${rows.length})`),
        h("table", { class: "list" },
          h("thead", {}, h("tr", {}, ["Step", "Before", "After", "Start shift"]
            .map((c) => h("th", {}, c)))),
          h("tbody", {}, rows.slice(0, STEP_ROWS).map((s) => h("tr", {},
            h("td", {}, h("a", { href: view(b, { order: s.order }) }, s.id)),
            h("td", {}, place(s.before)), h("td", {}, place(s.after)),
            h("td", {}, s.shift_min === null || s.shift_min === undefined ? ""
              : rp.fmtShift(s.shift_min)))))),
        rows.length > STEP_ROWS ? h("p", { class: "hint" },
          `the first ${STEP_ROWS} of ${rows.length}`) : null));
    }
    return parts.length ? parts : [h("p", { class: "facts" }, "No step moved.")];
  }

  function rescheduleSection(job) {
    const r = (job.schedule || {}).reschedule;
    const box = $("cmp-reschedule");
    if (!r) {
      box.hidden = true;
      return;
    }
    box.hidden = false;
    const kept = r.kept || [], released = r.released || [];
    rp.show(box,
      h("h2", {}, `Reschedule ${job.problem_name || job.id}: frozen steps`),
      h("p", { class: "facts" }, r.note ? r.note
        : `Published steps starting within ${r.frozen_hours} h were frozen: ` +
          `${kept.length} kept where they were, ${released.length} released to move.`),
      h("details", { id: "released-steps", open: true },
        h("summary", {}, `Released (${released.length})`),
        released.length ? h("table", { class: "list" },
          h("thead", {}, h("tr", {}, h("th", {}, "Step"), h("th", {}, "Why it was released"))),
          h("tbody", {}, released.map((x) => h("tr", {},
            h("td", {}, h("a", { href: view(job.id, { order: x.step.split("/")[0] }) },
              x.step)),
            h("td", {}, x.reason))))) : h("p", { class: "facts" }, "none")),
      h("details", { id: "kept-steps" },
        h("summary", {}, `Kept (${kept.length})`),
        kept.length ? h("p", { class: "kept-list" }, kept.join(", "))
          : h("p", { class: "facts" }, "none")));
  }

  async function load() {
    const items = await fillPicker();
    if (b && !a) {  // a reschedule against the plan it started from, else the published
      try {
        const jb = await rp.api(`/schedules/${enc(b)}`);
        a = (jb.params || {}).reference || "";
        if (!a) {
          const ov = await rp.api("/overview");
          a = ov.published && ov.published !== b ? ov.published : "";
        }
      } catch (err) {
        rp.show($("cmp-msg"), rp.errorBox(err));
        return;
      }
      if (!a) {
        rp.show($("cmp-msg"), h("div", { class: "msg" },
          "This plan was not made from another one and no other plan is published: choose " +
          "the plan to compare it with."));
        $("pick-b").value = b;
        return;
      }
      $("pick-a").value = a;
    }
    if (!a || !b) {
      rp.show($("cmp-msg"), h("div", { class: "msg" }, items.length >= 2
        ? "Choose the plan before and the plan after, then Compare."
        : "Two finished plans are needed to compare."));
      return;
    }
    let ja, jb, d, ga;
    try {
      [ja, jb, d, ga] = await Promise.all([
        rp.api(`/schedules/${enc(a)}`), rp.api(`/schedules/${enc(b)}`),
        rp.api(`/schedules/${enc(a)}/diff/${enc(b)}`), rp.api(`/schedules/${enc(a)}/gantt`)]);
    } catch (err) {
      rp.show($("cmp-msg"), rp.errorBox(err));
      return;
    }
    ja.problem_name = ((ja.schedule || {}).problem || "");
    jb.problem_name = ((jb.schedule || {}).problem || "");
    $("title").textContent = `Compare ${planKind(ja.kind)} ${a.slice(0, 8)} → ` +
      `${planKind(jb.kind)} ${b.slice(0, 8)}`;
    document.title = `Compare ${a.slice(0, 8)} → ${b.slice(0, 8)} — rackplan`;
    $("cmp-body").hidden = false;
    rp.show($("cmp-kpis"), kpiTable(ja, jb));
    rp.show($("cmp-summary"), summary(d.summary));
    rp.show($("cmp-orders"), ordersTable(d.orders));
    rp.show($("cmp-steps"), ...stepsSection(d.steps));
    rescheduleSection(jb.schedule && jb.schedule.reschedule ? jb : ja);
    $("cmp-gantt-title").textContent = `The new plan (${planKind(jb.kind)} ${b.slice(0, 8)})`;
    const gantt = new RackGantt.Gantt($("gantt"), { jobId: b, ghosts: ga.items,
      onLoad: (data) => { $("cmp-gantt-hint").textContent = planFacts(data); } });
    window.rackGantt = gantt;
    window.rackCompare = { a, b, ghosts: ga.items.length };
    gantt.reload();
    document.body.dataset.ready = "1";
  }

  load();
})();
