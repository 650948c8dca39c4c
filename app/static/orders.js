// The orders page: GET /orders with filters and pages, each order's planned delivery,
// lateness and sites in the published plan (GET /overview, /schedules/{id}), cancel,
// upload.
// `?order=ID` shows that one order.
"use strict";

(function main() {
  const h = rp.h;
  const $ = (id) => document.getElementById(id);
  const LIMIT = 100;
  let offset = 0;
  let plan;  // the published plan: {id, orders: Map(id -> order), unplanned: Map}, or null
  const only = new URLSearchParams(location.search).get("order") || "";

  rp.keyBar($("key-slot"));
  rp.show($("upload"), uploadForm(() => load()));

  async function cancel(id) {
    if (!confirm(`Cancel order ${id}? It is kept, marked cancelled, and left out of new plans.`)) {
      return;
    }
    try {
      await rp.api(`/orders/${encodeURIComponent(id)}`, { method: "DELETE" });
    } catch (err) {
      rp.show($("orders-msg"), rp.errorBox(err));
    }
    load();
  }

  // the order in the published plan: delivery, lateness, sites
  function planCells(o) {
    if (!plan) return [h("td", { class: "facts" }, "nothing published"), h("td", {}, ""),
      h("td", {}, "")];
    const p = plan.orders.get(o.id);
    if (!p) {
      const u = plan.unplanned.get(o.id);
      return [h("td", { class: u ? "plan-out" : "facts", colspan: "3" },
        u ? `left out of the plan: ${u.reason || u.code}` : "not in the published plan")];
    }
    const late = Number(p.tardiness_min) || 0;
    let slack = "";
    if (!late && p.delivery && p.due) {
      slack = `, ${rp.fmtDuration((new Date(p.due) - new Date(p.delivery)) / 60000)} early`;
    }
    return [
      h("td", { class: "c-delivery", title: p.delivery }, rp.fmtIso(p.delivery)),
      h("td", { class: late ? "late" : "on-time" },
        late ? `late ${rp.fmtDuration(late)}` : `on time${slack}`),
      h("td", {}, (p.sites || []).join(", ")),
    ];
  }

  const DATES = new Set(["due", "release"]);

  function table(items) {
    const cols = ["id", "customer", "product", "quantity", "due", "release", "weight",
      "destination", "allowed_sites", "status"];
    return h("table", { class: "list", id: "orders-table" },
      h("thead", {}, h("tr", {}, cols.map((c) => h("th", {}, c.replace("_", " "))),
        h("th", { title: "in the published plan" }, "planned delivery"),
        h("th", {}, "lateness"), h("th", {}, "plan sites"), h("th", {}, ""))),
      h("tbody", {}, items.map((o) => h("tr", { "data-order": o.id,
        class: o.id === only ? "picked" : null },
      cols.map((c) => h("td", { class: `c-${c}`, title: DATES.has(c) ? o[c] || "" : null },
        DATES.has(c) ? rp.fmtIso(o[c]) : Array.isArray(o[c]) ? o[c].join(";") : o[c] ?? "")),
      planCells(o),
      h("td", { class: "row-actions" },
        plan && plan.orders.has(o.id) ? h("a", { href: `/schedules/${encodeURIComponent(plan.id)}` +
          `/view?order=${encodeURIComponent(o.id)}` }, "in plan") : null,
        o.status === "open" ? h("button", { type: "button", class: "link",
          onclick: () => cancel(o.id) }, "cancel") : null)))));
  }

  async function loadPlan() {
    const ov = await rp.api("/overview");
    if (!ov.published) {
      plan = null;  // nothing published yet
      return;
    }
    const job = await rp.api(`/schedules/${encodeURIComponent(ov.published)}`);
    const sch = job.schedule || {};
    plan = { id: job.id, orders: new Map((sch.orders || []).map((o) => [o.id, o])),
      unplanned: new Map((sch.unplanned || []).map((u) => [u.order, u])) };
  }

  async function load() {
    const q = new URLSearchParams({ limit: String(LIMIT), offset: String(offset) });
    for (const [k, id] of [["status", "f-status"], ["product", "f-product"],
      ["customer", "f-customer"]]) {
      const v = $(id).value.trim();
      if (v) q.set(k, v);
    }
    try {
      if (plan === undefined) await loadPlan();
      if (only) {
        const o = await rp.api(`/orders/${encodeURIComponent(only)}`);
        $("orders-msg").replaceChildren(h("p", {}, `Order ${only}. `,
          h("a", { href: "/ui/orders" }, "All orders")));
        rp.show($("orders"), table([o]));
        $("order-count").textContent = "";
        $("prev").disabled = $("next").disabled = true;
        return;
      }
      const page = await rp.api(`/orders?${q}`);
      $("orders-msg").replaceChildren();
      rp.show($("orders"), page.items.length ? table(page.items) : h("p", {}, "No orders."));
      $("order-count").textContent = page.total
        ? `${page.offset + 1}–${page.offset + page.items.length} of ${page.total}` : "";
      $("prev").disabled = page.offset <= 0;
      $("next").disabled = page.offset + page.items.length >= page.total;
    } catch (err) {
      rp.show($("orders-msg"), rp.errorBox(err));
    }
  }

  $("order-filters").addEventListener("submit", (e) => {
    e.preventDefault();
    offset = 0;
    load();
  });
  $("prev").onclick = () => { offset = Math.max(0, offset - LIMIT); load(); };
  $("next").onclick = () => { offset += LIMIT; load(); };
  load();
})();
