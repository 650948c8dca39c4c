// The orders page: GET /orders with filters and pages, cancel, upload.
"use strict";

(function main() {
  const h = rp.h;
  const $ = (id) => document.getElementById(id);
  const LIMIT = 100;
  let offset = 0;
  let latest = null;

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

  function table(items) {
    const cols = ["id", "customer", "product", "quantity", "due", "release", "weight",
      "destination", "allowed_sites", "status"];
    return h("table", { class: "list", id: "orders-table" },
      h("thead", {}, h("tr", {}, cols.map((c) => h("th", {}, c.replace("_", " "))),
        h("th", {}, ""))),
      h("tbody", {}, items.map((o) => h("tr", { "data-order": o.id },
        cols.map((c) => h("td", {}, Array.isArray(o[c]) ? o[c].join(";") : o[c] ?? "")),
        h("td", {},
          latest ? h("a", { href: `/schedules/${encodeURIComponent(latest)}/view?order=` +
            encodeURIComponent(o.id) }, "in plan") : null,
          o.status === "open" ? h("button", { type: "button", class: "link",
            onclick: () => cancel(o.id) }, "cancel") : null)))));
  }

  async function load() {
    const q = new URLSearchParams({ limit: String(LIMIT), offset: String(offset) });
    for (const [k, id] of [["status", "f-status"], ["product", "f-product"],
      ["customer", "f-customer"]]) {
      const v = $(id).value.trim();
      if (v) q.set(k, v);
    }
    try {
      const [page, ov] = await Promise.all([rp.api(`/orders?${q}`),
        latest === null ? rp.api("/overview").catch(() => null) : Promise.resolve(null)]);
      if (ov && ov.latest) latest = ov.latest.id;
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
