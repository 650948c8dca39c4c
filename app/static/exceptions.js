// The exceptions page: GET /exceptions, one section per kind, each entry with its links.
"use strict";

(function main() {
  const h = rp.h;
  const $ = (id) => document.getElementById(id);
  rp.keyBar($("key-slot"));

  const SECTIONS = {
    late: { title: "Late orders", empty: "No order is late.",
      cols: ["Order", "Late by", "Weight", "Weighted", "Delivery", "Due", "Sites"],
      row: (e) => [e.order, rp.fmtDuration(e.tardiness_min), String(e.weight),
        rp.fmtWeighted(e.weighted_min, false), rp.fmtIso(e.delivery), rp.fmtIso(e.due),
        (e.sites || []).join(", ")] },
    unplanned: { title: "Orders left out of the plan", empty: "Every order is planned.",
      cols: ["Order", "Why", "Step", "Sites"],
      row: (e) => [e.order, e.reason || e.code || "", e.op || "", (e.sites || []).join(", ")] },
    at_risk: { title: "Orders at risk", empty: "No order is close to its due date.",
      cols: ["Order", "Slack", "Delivery", "Due", "Sites"],
      row: (e) => [e.order, rp.fmtDuration(e.slack_min), rp.fmtIso(e.delivery),
        rp.fmtIso(e.due), (e.sites || []).join(", ")] },
    released: { title: "Frozen steps released by the last reschedule",
      empty: "The last reschedule kept every frozen step (or there was none).",
      cols: ["Step", "Why it was released"],
      row: (e) => [e.step, e.reason || ""] },
    idle: { title: "Idle resources while orders are late", empty: "No resource stood idle " +
        "for more than a day while a late order could use it.",
      cols: ["Resource", "Site", "Idle (open time)", "From", "Until", "Late orders it could serve"],
      row: (e) => [e.resource, e.site, rp.fmtDuration(e.idle_open_min), rp.fmtIso(e.start),
        rp.fmtIso(e.end), (e.orders || []).join(", ")] },
  };
  const LINKS = { gantt: "Gantt", order: "order", plan: "plan", compare: "changes" };

  function links(e) {
    return h("td", { class: "row-actions" }, Object.entries(LINKS)
      .filter(([k]) => e.links && e.links[k])
      .map(([k, label]) => h("a", { href: e.links[k], class: `link-${k}` }, label)));
  }

  function section(kind, entries) {
    const s = SECTIONS[kind];
    return h("section", { class: `card exc exc-${kind}`, id: `exc-${kind}` },
      h("h2", {}, s.title, h("span", { class: `badge count ${entries.length ? kind : "none"}` },
        String(entries.length))),
      entries.length
        ? h("table", { class: "list" },
          h("thead", {}, h("tr", {}, s.cols.map((c) => h("th", {}, c)), h("th", {}, ""))),
          h("tbody", {}, entries.map((e) => h("tr", { "data-kind": kind, title: e.message },
            s.row(e).map((v) => h("td", {}, v)), links(e)))))
        : h("p", { class: "facts" }, s.empty));
  }

  async function load() {
    let body;
    try {
      body = await rp.api("/exceptions");
    } catch (err) {
      rp.show($("exc-msg"), rp.errorBox(err));
      return;
    }
    const kinds = Object.keys(SECTIONS);
    if (!body.job_id) {
      $("title").textContent = "Exceptions: nothing is published yet";
      $("exc-facts").textContent = "Publish a plan on the front page to see what needs " +
        "attention in it.";
    } else {
      $("title").textContent = `Exceptions in the published plan: ${body.name || body.job_id}`;
      $("exc-facts").textContent = `published ${rp.fmtIso(body.published_at)} · at risk ` +
        `under ${body.at_risk_hours} h of slack`;
      rp.show($("exc-actions"),
        h("a", { class: "button", href: `/schedules/${encodeURIComponent(body.job_id)}/view` },
          "Gantt of the plan"));
    }
    const total = kinds.reduce((n, k) => n + (body.counts[k] || 0), 0);
    rp.show($("exc-counts"), h("span", { class: "facts" },
      total ? `${total} to look at: ` : "Nothing to look at. "),
    ...kinds.map((k) => h("a", { href: `#exc-${k}`, class: `chip ${body.counts[k] ? k : "none"}` },
      `${SECTIONS[k].title.toLowerCase()} ${body.counts[k] || 0}`)));
    if (body.reschedule) {
      const r = body.reschedule;
      SECTIONS.released.title = `Frozen steps released by the last reschedule (kept ` +
        `${r.kept}, released ${r.released})`;
    }
    const byKind = Object.fromEntries(kinds.map((k) => [k, []]));
    for (const e of body.items) (byKind[e.kind] || []).push(e);
    rp.show($("exc-sections"), ...kinds.map((k) => section(k, byKind[k])));
    document.body.dataset.ready = "1";
  }

  load();
})();
