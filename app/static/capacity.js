// The capacity page: /ui/capacity (the current factory and open orders) or
// /schedules/{id}/capacity/view (one plan's load). Heat maps of utilisation, sites by
// buckets, per resource kind and for power, with the product families' shares.
"use strict";

const RackCapacity = (() => {
  const FAMILY_COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#9467bd", "#8c564b",
    "#e377c2", "#17becf", "#bcbd22", "#7f7f7f", "#d62728"];

  // white -> amber (75 %) -> red (120 % and above); grey where nothing is available
  function colour(u) {
    if (u === null || u === undefined) return "";
    const x = Math.max(0, Math.min(u, 1.2)) / 1.2;
    let r, g, b;
    if (x < 0.625) {
      const t = x / 0.625;
      r = 255; g = Math.round(255 - 55 * t); b = Math.round(255 - 200 * t);
    } else {
      const t = (x - 0.625) / 0.375;
      r = Math.round(255 - 35 * t); g = Math.round(200 - 160 * t); b = Math.round(55 - 15 * t);
    }
    return `rgb(${r}, ${g}, ${b})`;
  }

  const pct = (u) => `${Math.round(100 * u)} %`;
  const num = (x) => Math.round(x).toLocaleString("en-GB");

  // the rows of each heat map: per resource kind the sites' groups, then power
  function maps(report) {
    const kinds = new Map();
    for (const site of report.sites) {
      for (const g of site.groups) {
        const kind = g.kind || "alternatives";
        if (!kinds.has(kind)) kinds.set(kind, []);
        kinds.get(kind).push({ label: g.id, site: site.id, row: g, unit: "min" });
      }
    }
    const power = [];
    for (const site of report.sites) {
      if (site.power) power.push({ label: `${site.id}`, site: site.id, row: site.power,
        unit: "kwh" });
    }
    if (power.length) kinds.set("power", power);
    return kinds;
  }

  function load(row, unit) {
    const planned = row[`planned_${unit}`];
    return planned !== null ? { key: `planned_${unit}`, values: planned }
      : { key: `allocated_${unit}`, values: row[`allocated_${unit}`] };
  }

  function cell(r, b, families, hot) {
    const { h } = rp;
    const u = r.row.utilisation[b];
    if (u === null) return h("td", { class: "cap-cell none", title: "nothing available" }, "");
    const ld = load(r.row, r.unit);
    const avail = r.row[`available_${r.unit}`][b];
    const unit = r.unit === "kwh" ? "kWh" : "min";
    const lines = [`${r.label}`, `utilisation ${pct(u)}`, `available ${num(avail)} ${unit}`];
    const shares = h("div", { class: "cap-shares" });
    const total = ld.values ? ld.values[b] : 0;
    if (ld.values) lines.push(`load ${num(total)} ${unit}`);
    families.forEach((fam, i) => {
      const by = r.row.by_family[fam];
      const x = by && by[ld.key] ? by[ld.key][b] : 0;
      if (x > 0 && total > 0) {
        lines.push(`${fam}: ${num(x)} ${unit} (${pct(x / total)})`);
        shares.append(h("span", { style: `width:${(100 * x) / total}%;background:${
          FAMILY_COLOURS[i % FAMILY_COLOURS.length]}`, "data-family": fam }));
      }
    });
    return h("td", {
      class: `cap-cell${hot ? " hot" : ""}`, style: `background:${colour(u)}`,
      title: lines.join("\n"), "data-utilisation": String(u), "data-bucket": String(b),
    }, pct(u).replace(" ", ""), shares);
  }

  function render(report) {
    const { h } = rp;
    const hot = new Set(report.bottlenecks.map((x) => `${x.group === "power" ?
      `${x.site}/power` : x.group}#${x.bucket}`));
    const heads = report.buckets.map((bk) => h("th", { title: `${bk.start} – ${bk.end}` },
      bk.start.slice(0, 10)));
    const out = [];
    for (const [kind, rows] of maps(report)) {
      out.push(h("section", { class: "cap-map", "data-kind": kind },
        h("h2", {}, kind === "power" ? "power (energy against the cap)" : kind),
        h("table", {},
          h("thead", {}, h("tr", {}, h("th", {}, ""), heads.map((x) => x.cloneNode(true)))),
          h("tbody", {}, rows.map((r) => h("tr", { "data-row": r.label },
            h("th", {}, r.label),
            report.buckets.map((_, b) => cell(r, b, report.families,
              hot.has(`${kind === "power" ? `${r.site}/power` : r.label}#${b}`)))))))));
    }
    return out;
  }

  function legend(report) {
    const { h } = rp;
    return [
      h("span", { class: "scale" }, [0, 0.25, 0.5, 0.75, 0.9, 1, 1.2].map((u) =>
        h("span", { style: `background:${colour(u)}` }, pct(u)))),
      ...report.families.map((fam, i) => h("span", { class: "family" },
        h("span", { class: "swatch",
          style: `background:${FAMILY_COLOURS[i % FAMILY_COLOURS.length]}` }), fam)),
    ];
  }

  function bottlenecks(report) {
    const { h } = rp;
    if (!report.bottlenecks.length) return [h("p", {}, "No bucket at or above 90 %.")];
    return [h("table", { class: "cap-list", id: "cap-bottleneck-list" },
      h("thead", {}, h("tr", {}, ["site", "group", "bucket from", "utilisation"].map(
        (c) => h("th", {}, c)))),
      h("tbody", {}, report.bottlenecks.map((x) => h("tr", {},
        h("td", {}, x.site), h("td", {}, x.group), h("td", {}, x.start.slice(0, 10)),
        h("td", {}, pct(x.utilisation))))))];
  }

  function late(report) {
    const { h } = rp;
    if (!report.late_orders.length) {
      return [h("p", {}, "None: every order can be on time on its own.")];
    }
    return [h("table", { class: "cap-list", id: "cap-late-list" },
      h("thead", {}, h("tr", {}, ["order", "customer", "family", "due", "late by at least"]
        .map((c) => h("th", {}, c)))),
      h("tbody", {}, report.late_orders.map((o) => h("tr", {},
        h("td", {}, o.id), h("td", {}, o.customer || ""), h("td", {}, o.family),
        h("td", {}, o.due.slice(0, 16).replace("T", " ")),
        h("td", {}, rp.fmtDuration(o.tardiness_bound_min))))))];
  }

  function facts(report) {
    const src = report.plan ? "the plan's load" : "the allocation's load";
    const alloc = report.allocation.status;
    return `${report.problem}: ${report.buckets.length} ${report.bucket} buckets, ` +
      `${src} (allocation ${alloc}), computed in ${report.seconds.toFixed(1)} s`;
  }

  return { colour, render, legend, bottlenecks, late, facts };
})();

(function main() {
  if (!document.querySelector("main.capacity")) return;  // another page uses the pieces
  rp.keyBar(document.getElementById("key-slot"));
  const m = /^\/schedules\/([^/]+)\/capacity\/view\/?$/.exec(location.pathname);
  const jobId = m ? decodeURIComponent(m[1]) : "";
  const params = new URLSearchParams(location.search);
  const select = document.getElementById("cap-bucket");
  select.value = params.get("bucket") === "day" ? "day" : "week";
  const main = document.querySelector("main.capacity");
  const msg = document.getElementById("cap-msg");
  if (jobId) {
    document.getElementById("title").textContent = `Capacity of plan ${jobId}`;
    document.title = `Capacity of plan ${jobId} — rackplan`;
    const link = document.getElementById("cap-plan");
    link.href = `/schedules/${encodeURIComponent(jobId)}/view`;
    link.hidden = false;
  }

  async function reload() {
    const bucket = select.value;
    main.classList.toggle("days", bucket === "day");
    rp.show(msg, rp.h("div", { class: "msg" }, "computing the capacity report ..."));
    main.dataset.state = "loading";
    try {
      const q = `bucket=${encodeURIComponent(bucket)}`;
      const report = jobId
        ? await rp.api(`/schedules/${encodeURIComponent(jobId)}/capacity?${q}`)
        : await rp.api(`/capacity?${q}`, { method: "POST" });
      rp.show(document.getElementById("cap-facts"), RackCapacity.facts(report));
      rp.show(document.getElementById("cap-legend"), ...RackCapacity.legend(report));
      rp.show(document.getElementById("cap-maps"), ...RackCapacity.render(report));
      rp.show(document.getElementById("cap-bottlenecks"), ...RackCapacity.bottlenecks(report));
      rp.show(document.getElementById("cap-late"), ...RackCapacity.late(report));
      rp.show(msg);
      main.dataset.state = "ready";
      window.rackCapacity = report;
    } catch (err) {
      rp.show(msg, rp.errorBox(err));
      main.dataset.state = "error";
    }
  }

  select.addEventListener("change", () => {
    const q = new URLSearchParams(location.search);
    q.set("bucket", select.value);
    history.replaceState(null, "", `${location.pathname}?${q}`);
    reload();
  });
  reload();
})();
