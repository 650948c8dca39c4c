// The scenario compare page: /ui/scenarios/{id}. The base and each variant side by side:
// KPIs with the change against the base, the orders whose delivery changes, per site the
// utilisation and power, a small capacity heat map (sites by buckets, the most utilised
// group of each), links to each side's Gantt; for a resilience run, the ranking of sites.
"use strict";

(function main() {
  const { h, show } = rp;
  rp.keyBar(document.getElementById("key-slot"));
  const m = /^\/ui\/scenarios\/([^/]+)\/?$/.exec(location.pathname);
  const id = m ? decodeURIComponent(m[1]) : "";
  const root = document.querySelector("main.scenarios");
  const msg = document.getElementById("sc-msg");
  const FINISHED = ["done", "failed", "cancelled"];
  const num = (x) => (x === null || x === undefined ? "–"
    : Math.round(x).toLocaleString("en-GB"));
  const hours = (min) => (min === null || min === undefined ? "–"
    : `${(min / 60).toLocaleString("en-GB", { maximumFractionDigits: 1 })} h`);
  const pct = (u) => (u === null || u === undefined ? "–" : `${Math.round(100 * u)} %`);
  const signed = (x, fmt) => (x === null || x === undefined || x === 0 ? ""
    : `${x > 0 ? "+" : "−"}${fmt(Math.abs(x))}`);

  function delta(x, fmt, worseIfUp) {
    const cls = !x ? "delta" : (x > 0) === worseIfUp ? "delta worse" : "delta better";
    return h("span", { class: cls }, signed(x, fmt));
  }

  function kpis(side, isBase) {
    const rows = [
      ["on time", side.on_time === null ? "–" : `${side.on_time} / ${side.orders}`,
        isBase ? null : side.on_time_change, (x) => String(x), false],
      ["weighted tardiness", num(side.weighted_tardiness_min),
        isBase ? null : side.weighted_tardiness_min_change, num, true],
      ["makespan", hours(side.makespan_min),
        isBase ? null : side.makespan_min_change, hours, true],
    ];
    return h("div", { class: "sc-kpis" }, rows.flatMap(([label, fig, d, fmt, up]) => [
      h("span", { class: "label" }, label), h("span", { class: "fig" }, fig),
      d === null ? h("span") : delta(d, fmt, up)]));
  }

  function describeChange(c) {
    const rest = Object.entries(c).filter(([k]) => k !== "type")
      .map(([k, v]) => `${k} ${Array.isArray(v) || typeof v === "object" ? JSON.stringify(v) : v}`);
    return `${c.type}: ${rest.join(", ")}`;
  }

  function sites(side) {
    if (!side.sites.length) return null;
    return h("table", { class: "sc-sites" },
      h("thead", {}, h("tr", {}, ["site", "utilisation", "peak kW", "cap kW"].map((t) =>
        h("th", {}, t)))),
      h("tbody", {}, side.sites.map((s) => h("tr", {},
        h("td", {}, s.site), h("td", { class: "num" }, pct(s.utilisation)),
        h("td", { class: "num" }, num(s.peak_kw)),
        h("td", { class: "num" }, s.power_cap_kw === null ? "–" : num(s.power_cap_kw))))));
  }

  // sites by buckets, `width` buckets wide (the widest side's), so the sides line up
  function heat(side, width) {
    if (!side.heat) return null;
    const hm = side.heat;
    const from = hm.buckets.length ? hm.buckets[0].slice(0, 10) : "";
    return h("div", { class: "sc-heat" },
      h("h3", {}, `Utilisation by ${hm.bucket} from ${from}`),
      h("table", {}, h("tbody", {}, hm.sites.map((row) => h("tr", {},
        h("th", {}, row.site),
        Array.from({ length: Math.max(width, row.utilisation.length) }, (_, b) => {
          const u = b < row.utilisation.length ? row.utilisation[b] : null;
          const when = b < hm.buckets.length ? hm.buckets[b].slice(0, 10) : "after the plan";
          const title = `${row.site} ${when}: ${u === null ? "nothing planned" : pct(u)}`;
          const td = h("td", { class: u === null ? "cap-cell none" : "cap-cell", title });
          if (u !== null) td.style.background = RackCapacity.colour(u);
          return td;
        }))))));
  }

  function bottlenecks(side) {
    if (!side.bottlenecks.length) return null;
    return [h("h3", {}, "Bottlenecks"), h("ul", { class: "sc-changes" },
      side.bottlenecks.map((b) => h("li", {},
        `${b.group}, ${b.kind === "power" ? "power" : "week of"} ${b.start.slice(0, 10)}: ` +
        pct(b.utilisation))))];
  }

  function orders(side) {
    const rows = (side.order_changes || []).slice()
      .sort((a, b) => (a.delivery_change_min === null ? -Infinity : -Math.abs(a.delivery_change_min))
        - (b.delivery_change_min === null ? -Infinity : -Math.abs(b.delivery_change_min))
        || a.order.localeCompare(b.order));
    if (!rows.length) return h("p", { class: "sc-none" }, "no order delivers at another time");
    const shown = rows.slice(0, 12);
    return [h("h3", {}, `Orders that change (${rows.length})`),
      h("table", { class: "sc-orders" },
        h("thead", {}, h("tr", {}, ["order", "delivery", "tardiness"].map((t) => h("th", {}, t)))),
        h("tbody", {}, shown.map((r) => h("tr", { "data-order": r.order },
          h("td", {}, r.order),
          h("td", { class: "num" }, r.change === "later" || r.change === "earlier"
            ? delta(r.delivery_change_min, rp.fmtDuration, true) : r.change),
          h("td", { class: "num" }, r.tardiness_min === null ? "–"
            : `${rp.fmtDuration(r.base_tardiness_min || 0)} → ${rp.fmtDuration(r.tardiness_min)}`))))),
      rows.length > shown.length ? h("p", { class: "sc-none" },
        `... and ${rows.length - shown.length} more`) : null];
  }

  function card(side, isBase, width) {
    const title = isBase ? "Base" : side.name;
    const links = h("div", { class: "sc-links" },
      side.status ? h("a", { href: side.links.view, class: "gantt-link" }, "Gantt") : null,
      side.status ? h("a", { href: side.links.capacity }, "capacity") : null);
    const body = side.status ? [kpis(side, isBase), sites(side), heat(side, width), bottlenecks(side),
      isBase ? null : orders(side)].flat(2)
      : [h("p", { class: "sc-none" }, side.error || `the solve is ${side.job_status}`)];
    return h("section", { class: "card sc-side", "data-side": isBase ? "base" : String(side.index) },
      h("h2", {}, title, h("span", { class: "status" },
        `${side.job_status}${side.status ? `, ${side.status}` : ""}`)),
      isBase || !side.changes.length ? null
        : h("ul", { class: "sc-changes" }, side.changes.map((c) => h("li", {}, describeChange(c)))),
      links, body);
  }

  function ranking(rows) {
    return h("table", { class: "sc-rank" },
      h("thead", {}, h("tr", {}, ["rank", "site", "weighted tardiness added", "on time",
        "orders that slip"].map((t) => h("th", {}, t)))),
      h("tbody", {}, rows.map((r) => h("tr", {},
        h("td", { class: "num" }, String(r.rank)), h("td", {}, r.site),
        h("td", { class: "num" }, r.weighted_tardiness_added_min === null ? "–"
          : signed(r.weighted_tardiness_added_min, num) || "0"),
        h("td", { class: "num" }, r.on_time === null ? "–" : `${r.on_time} / ${r.orders}`),
        h("td", {}, r.slipped.map((s) => s.order).slice(0, 10).join(", ")
          + (r.slipped.length > 10 ? ` and ${r.slipped.length - 10} more` : ""))))));
  }

  async function reload() {
    try {
      const sc = await rp.api(`/scenarios/${encodeURIComponent(id)}`);
      document.getElementById("title").textContent = sc.name;
      document.title = `${sc.name} — rackplan`;
      show(document.getElementById("sc-facts"),
        `${sc.kind}, ${sc.status}, ${sc.variants.length} variant(s), ` +
        `${sc.params.time_limit} s per solve, seed ${sc.params.seed}`);
      const width = Math.max(0, ...[sc.base, ...sc.variants].map((x) =>
        (x.heat ? x.heat.buckets.length : 0)));
      show(document.getElementById("sc-sides"), card(sc.base, true, width),
        ...sc.variants.map((v) => card(v, false, width)));
      const rankCard = document.getElementById("sc-ranking-card");
      rankCard.hidden = !sc.ranking;
      if (sc.ranking) show(document.getElementById("sc-ranking"), ranking(sc.ranking));
      const cancel = document.getElementById("sc-cancel");
      cancel.hidden = FINISHED.includes(sc.status);
      show(msg, FINISHED.includes(sc.status) ? "" : h("div", { class: "msg" },
        "solving: the sides fill in as their solves finish ..."));
      root.dataset.state = FINISHED.includes(sc.status) ? "ready" : "solving";
      window.rackScenario = sc;
      if (!FINISHED.includes(sc.status)) setTimeout(reload, 3000);
    } catch (err) {
      show(msg, rp.errorBox(err));
      root.dataset.state = "error";
    }
  }

  document.getElementById("sc-cancel").addEventListener("click", async () => {
    try {
      await rp.api(`/scenarios/${encodeURIComponent(id)}`, { method: "DELETE" });
    } catch (err) {
      show(msg, rp.errorBox(err));
    }
  });
  reload();
})();
